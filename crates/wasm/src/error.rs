//! Errors for JavaScript: an `Error` whose `message` says what went wrong and whose `code`
//! is the stable string of `docs/format.md` §7 (`format.truncated`, `parameter`, ...).

use wasm_bindgen::JsValue;

/// A JavaScript `Error` with `code` set.
pub fn coded(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &code.into());
    err.into()
}

/// Converts a core error.
pub fn js_error(e: aic_core::Error) -> JsValue {
    coded(e.code(), &e.to_string())
}

/// A plain object from key/value pairs.
pub fn object(fields: &[(&str, JsValue)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), v);
    }
    o
}

/// A call that arrived while the object was still busy with an earlier one.
pub fn busy(what: &str) -> JsValue {
    coded(
        "busy",
        &format!("the {what} is still working on the previous call: await it first"),
    )
}
