//! Signed reply addresses. Every mail about a ticket carries a `Reply-To`
//! for that recipient and that ticket: `<local>+<token>@<reply domain>`,
//! where the token names the ticket and the person and is signed with the
//! server's secret (HMAC-SHA256). Nobody can make one for a ticket or a
//! person they were not mailed about; the inbound side still checks that
//! the sender is that person.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use threadesk_core::{PersonId, TicketId};

/// Signature bytes kept in a token (128 bits).
const MAC_BYTES: usize = 16;

fn mac(secret: &[u8], ticket: TicketId, person: PersonId) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(format!("threadesk-reply:{}:{}", ticket.0, person.0).as_bytes());
    m.finalize().into_bytes()[..MAC_BYTES].to_vec()
}

/// The token for one recipient of one ticket's mails: `t<ticket>p<person>-<mac>`.
pub fn reply_token(secret: &[u8], ticket: TicketId, person: PersonId) -> String {
    format!(
        "t{}p{}-{}",
        ticket.0,
        person.0,
        hex::encode(mac(secret, ticket, person))
    )
}

/// The ticket and person a token names, if its signature holds (compared
/// in constant time; case-insensitive, as mail systems may fold case).
pub fn verify(secret: &[u8], token: &str) -> Option<(TicketId, PersonId)> {
    let token = token.to_ascii_lowercase();
    let (ids, sig) = token.strip_prefix('t')?.split_once('-')?;
    let (ticket, person) = ids.split_once('p')?;
    let (ticket, person) = (
        TicketId(ticket.parse().ok()?),
        PersonId(person.parse().ok()?),
    );
    let sig = hex::decode(sig).ok()?;
    let mut m = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    m.update(format!("threadesk-reply:{}:{}", ticket.0, person.0).as_bytes());
    m.verify_truncated_left(&sig).ok()?;
    (sig.len() == MAC_BYTES).then_some((ticket, person))
}

/// The token in a recipient address `<local>+<token>@<domain>`, when the
/// domain is ours.
pub fn token_of_address<'a>(address: &'a str, reply_domain: &str) -> Option<&'a str> {
    let (local, domain) = address.trim().trim_matches(['<', '>']).rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(reply_domain) {
        return None;
    }
    // the last `+`: the sender's own local part may hold one.
    local.rsplit_once('+').map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_ticket_and_person_and_nothing_else() {
        let secret = b"server secret";
        let t = reply_token(secret, TicketId(1001), PersonId(42));
        assert_eq!(verify(secret, &t), Some((TicketId(1001), PersonId(42))));
        assert_eq!(
            verify(secret, &t.to_uppercase()),
            Some((TicketId(1001), PersonId(42)))
        );
        // another ticket or person with the same signature, or another secret: refused.
        let sig = t.split_once('-').unwrap().1;
        assert_eq!(verify(secret, &format!("t1002p42-{sig}")), None);
        assert_eq!(verify(secret, &format!("t1001p43-{sig}")), None);
        assert_eq!(verify(b"other secret", &t), None);
        assert_eq!(
            verify(secret, &t[..t.len() - 2]),
            None,
            "a shortened signature"
        );
        assert_eq!(verify(secret, "t1p2-zz"), None);
        assert_eq!(verify(secret, ""), None);
    }

    #[test]
    fn tokens_are_read_from_our_reply_addresses_only() {
        assert_eq!(
            token_of_address("<help+t1p2-ab@reply.acme.test>", "reply.acme.test"),
            Some("t1p2-ab")
        );
        assert_eq!(
            token_of_address("help+t1p2-ab@REPLY.acme.test", "reply.acme.test"),
            Some("t1p2-ab")
        );
        assert_eq!(
            token_of_address("help+t1p2-ab@evil.test", "reply.acme.test"),
            None
        );
        assert_eq!(
            token_of_address("help@reply.acme.test", "reply.acme.test"),
            None
        );
    }
}
