//! `aic token`: an access token for `aic serve`, signed with the configured secret (the
//! configuration's `[auth] secret` or `AIC_AUTH_SECRET`, as `aic serve` reads them), printed
//! on its last line — as LiveKit's CLI mints room tokens.

use std::path::PathBuf;

use aic_native::serve::ServeConfig;
use aic_native::serve::auth::{Grant, Keyring, MAX_TTL_SECONDS, SECRET_ENV};

use crate::error::CliError;

/// Flags of `aic token`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// What the token grants (repeatable): publish (open a WHIP session), view (read the
    /// sessions of --stream or --session), admin (everything).
    #[arg(long = "grant", required = true, value_parser = parse_grant)]
    grants: Vec<Grant>,
    /// The stream a publish token publishes to, and a view token may watch.
    #[arg(long)]
    stream: Option<String>,
    /// A session a view token may read (repeatable).
    #[arg(long = "session")]
    sessions: Vec<String>,
    /// Who the token is for: the per-client limits are kept per subject (default: a random
    /// id).
    #[arg(long)]
    subject: Option<String>,
    /// How long it is valid: 90s, 10m, 2h, 1d (at most 7 days).
    #[arg(long, default_value = "10m", value_parser = parse_ttl)]
    ttl: u64,
    /// The `aic serve` configuration whose `[auth]` secret signs it (the environment's
    /// AIC_AUTH_SECRET takes precedence).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn parse_grant(s: &str) -> Result<Grant, String> {
    Grant::parse(s).ok_or_else(|| format!("{s:?}: use publish, view or admin"))
}

/// `90s`, `10m`, `2h`, `1d` or plain seconds, up to [`MAX_TTL_SECONDS`].
fn parse_ttl(s: &str) -> Result<u64, String> {
    let (n, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: use a number and s, m, h or d (e.g. 10m)")),
    };
    let v = n
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{s:?}: use a positive number and s, m, h or d"))?;
    if v > MAX_TTL_SECONDS {
        return Err(format!(
            "{s:?}: tokens live at most {} days; mint a new one instead",
            MAX_TTL_SECONDS / 86_400
        ));
    }
    Ok(v)
}

/// Runs `aic token`: what it grants on stderr, the token itself on the last line of stdout.
pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let mut c = match &a.config {
        Some(p) => ServeConfig::from_file(p).map_err(CliError::Usage)?,
        None => ServeConfig::default(),
    };
    c.auth.apply_env();
    let ring = c.auth.keyring().map_err(CliError::Usage)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no secret to sign with: set {SECRET_ENV} (or [auth] secret in --config), the same \
             one `aic serve` is started with"
        ))
    })?;
    let subject = match a.subject {
        Some(s) => s,
        None => format!(
            "client-{}",
            aic_native::serve::auth::random_hex(6).map_err(CliError::Failed)?
        ),
    };
    let now = aic_native::clock::unix_nanos() / 1_000_000_000;
    let mut claims =
        Keyring::claims(&subject, a.grants, a.stream, a.ttl, now).map_err(CliError::Failed)?;
    claims.sessions = a.sessions;
    let token = ring.mint(&claims).map_err(CliError::Failed)?;
    eprintln!(
        "aic token: subject {subject:?}, grants {:?}{}, valid {} s, key {:?}",
        claims.grants,
        claims
            .stream
            .as_ref()
            .map_or(String::new(), |s| format!(", stream {s:?}")),
        a.ttl,
        ring.signing_kid()
    );
    println!("{token}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("90s"), Ok(90));
        assert_eq!(parse_ttl("10m"), Ok(600));
        assert_eq!(parse_ttl("2h"), Ok(7200));
        assert_eq!(parse_ttl("45"), Ok(45));
        assert!(parse_ttl("8d").is_err());
        assert!(parse_ttl("0m").is_err());
        assert!(parse_ttl("m").is_err());
        assert!(parse_ttl("10y").is_err());
        assert!(parse_ttl("99999999999999999999d").is_err());
    }
}
