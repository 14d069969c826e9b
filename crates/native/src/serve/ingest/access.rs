//! Who may reach a live session (`docs/server.md`, Security): the token that opened it (WHIP,
//! RFC 9725: the session's URL answers to the token that created it), a `view` token that names
//! the session or its stream, and `admin`. Everyone else gets the answer a session that does
//! not exist gets, so a stranger learns nothing from guessing ids.

use crate::serve::auth::{Grant, Principal};

/// The publisher of a session, as the session keeps it.
#[derive(Clone)]
pub struct Owner {
    subject: String,
    stream: Option<String>,
    token: String,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Owner")
            .field("subject", &self.subject)
            .field("stream", &self.stream)
            .finish()
    }
}

/// What a request wants of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Its stats or its latest frame.
    Read,
    /// To end it.
    End,
}

/// Why a request may not have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not this token's session: answered exactly like a session that does not exist (`404`).
    Hidden,
    /// The token may see the session but not do this (a `view` token ending it): `403`.
    Forbidden,
}

impl Owner {
    /// The publisher `p` (a token with the `publish` grant), on its token's stream.
    pub fn of(p: &Principal) -> Self {
        Owner {
            subject: p.subject().to_string(),
            stream: p.claims.stream.clone(),
            token: p.token().to_string(),
        }
    }

    /// The publisher's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The stream the session publishes to, if its token named one.
    pub fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }

    /// Whether `p` may do `want` to session `id` of this owner.
    pub fn check(&self, id: &str, p: &Principal, want: Want) -> Result<(), Denied> {
        if p.is_admin() || p.same_token(&self.token) {
            return Ok(());
        }
        let c = &p.claims;
        let views = p.has(Grant::View)
            && (c.sessions.iter().any(|s| s == id)
                || (c.stream.is_some() && c.stream.as_deref() == self.stream()));
        match (views, want) {
            (false, _) => Err(Denied::Hidden),
            (true, Want::Read) => Ok(()),
            (true, Want::End) => Err(Denied::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::auth::{Claims, Keyring};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn principal(grants: Vec<Grant>, stream: Option<&str>, sessions: &[&str]) -> Principal {
        let ring = Keyring::new(&[("k1".into(), SECRET.into())]).unwrap();
        let now = crate::clock::unix_nanos() / 1_000_000_000;
        let mut c: Claims =
            Keyring::claims("alice", grants, stream.map(str::to_string), 60, now).unwrap();
        c.sessions = sessions.iter().map(|s| s.to_string()).collect();
        ring.verify(&ring.mint(&c).unwrap()).unwrap()
    }

    #[test]
    fn the_publishing_token_reads_and_ends_its_session_and_no_other_publisher_does() {
        let publisher = principal(vec![Grant::Publish], Some("cam"), &[]);
        let owner = Owner::of(&publisher);
        assert_eq!(owner.check("n.1", &publisher, Want::End), Ok(()));
        // Another token of the same subject and stream is another client.
        let other = principal(vec![Grant::Publish], Some("cam"), &[]);
        assert_eq!(owner.check("n.1", &other, Want::Read), Err(Denied::Hidden));
    }

    #[test]
    fn view_tokens_read_what_they_name_and_end_nothing() {
        let owner = Owner::of(&principal(vec![Grant::Publish], Some("cam"), &[]));
        let by_stream = principal(vec![Grant::View], Some("cam"), &[]);
        assert_eq!(owner.check("n.1", &by_stream, Want::Read), Ok(()));
        assert_eq!(
            owner.check("n.1", &by_stream, Want::End),
            Err(Denied::Forbidden)
        );
        let by_id = principal(vec![Grant::View], None, &["n.1"]);
        assert_eq!(owner.check("n.1", &by_id, Want::Read), Ok(()));
        assert_eq!(owner.check("n.2", &by_id, Want::Read), Err(Denied::Hidden));
        let elsewhere = principal(vec![Grant::View], Some("door"), &[]);
        assert_eq!(
            owner.check("n.1", &elsewhere, Want::Read),
            Err(Denied::Hidden)
        );
        // A session published without a stream is not matched by a view token without one.
        let unnamed = Owner::of(&principal(vec![Grant::Publish], None, &[]));
        let any = principal(vec![Grant::View], None, &[]);
        assert_eq!(unnamed.check("n.3", &any, Want::Read), Err(Denied::Hidden));
    }

    #[test]
    fn admin_does_everything_and_debug_hides_the_token() {
        let publisher = principal(vec![Grant::Publish], None, &[]);
        let owner = Owner::of(&publisher);
        let admin = principal(vec![Grant::Admin], None, &[]);
        assert_eq!(owner.check("n.1", &admin, Want::End), Ok(()));
        assert!(!format!("{owner:?}").contains(publisher.token()));
    }
}
