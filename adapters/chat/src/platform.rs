//! What a chat platform can do, as the chat layer asks it.

use crate::failure::{Failure, PlatformError};
use crate::Hub;
use std::future::Future;
use threadesk_core::domain::{Delegate, Message, Platform};
use threadesk_core::links::PlatformRef;
use threadesk_core::outbox::{Event, Intent};
use threadesk_core::surfaces::{CardFacts, Surface};
use threadesk_core::time::Timestamp;
use threadesk_core::{Engine, EngineError, PersonId, TicketId, TicketNumber};

/// How a platform's customers follow a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSide {
    /// Each person gets their own card (a Slack DM, a Teams 1:1 chat).
    OwnCards,
    /// One thread shared by the requester and the people following the
    /// ticket (a Discord private thread); people are added and removed.
    SharedThread,
}

/// Whose card is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardFor {
    /// The support team's triage card.
    Staff,
    /// A customer's card (or the shared thread's).
    Customer,
    /// A person's card after they lost access: no buttons, marked.
    Revoked,
    /// A staff card left behind when its ticket moved to another
    /// department's channel: no buttons, pointing there (the facts name
    /// the new department).
    Moved,
}

impl CardFor {
    /// What a card without buttons says instead, if it is one.
    pub fn notice(self, facts: &threadesk_core::surfaces::CardFacts) -> Option<String> {
        match self {
            CardFor::Revoked => Some("Your access to this ticket was revoked.".to_owned()),
            CardFor::Moved => Some(format!(
                "Moved to {}: it goes on in that department's channel.",
                facts.department.as_deref().unwrap_or("no department")
            )),
            CardFor::Staff | CardFor::Customer => None,
        }
    }
}

/// A delegate invitation to draw.
#[derive(Debug, Clone, Copy)]
pub struct Invitation<'a> {
    /// The delegation.
    pub delegate: &'a Delegate,
    /// The ticket's number.
    pub number: TicketNumber,
    /// The ticket's subject (an invitee sees only that).
    pub subject: &'a str,
    /// Who invited them.
    pub invited_by: &'a str,
}

/// Where something the bot posted would be, for
/// [`ChatPlatform::find_posted`].
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// The top of a channel (a card).
    Channel(&'a str),
    /// A surface's thread (a copy, a line).
    Thread(&'a Surface),
    /// The bot's direct messages with a user (an invitation).
    Dm(&'a str),
}

/// Where a platform posts closed tickets' transcripts
/// ([`ChatPlatform::transcript_channel`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptChannel {
    /// The channel's id on the platform.
    pub channel: String,
    /// The portal's public address (`https://help.example.com`): the
    /// transcript's attachment links, and the link posted instead of a
    /// transcript too long to post, point there.
    pub portal: String,
}

/// A file posted with a message ([`ChatPlatform::post_file`]).
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// The file's name (`ticket-1042.html`).
    pub name: &'a str,
    /// Its title, plain text (`Ticket #1042 VPN down`).
    pub title: &'a str,
    /// Its content type (`text/html; charset=utf-8`).
    pub content_type: &'a str,
    /// Its content.
    pub bytes: &'a [u8],
}

/// A chat platform: the calls the chat layer makes and how the platform
/// draws things. Rules (who sees what) are not the platform's to decide.
pub trait ChatPlatform: Clone + Send + Sync + 'static {
    /// The platform's API error.
    type Error: PlatformError;
    /// Which platform.
    const PLATFORM: Platform;
    /// Its outbox consumer name: the platform's.
    const CONSUMER: &'static str = Self::PLATFORM.as_str();
    /// How its customers follow tickets.
    const CUSTOMERS: CustomerSide;
    /// How a person starts a new ticket there, as a hint in closing lines.
    const NEW_TICKET: &'static str;

    /// The engine, the wake signal and the cards lock.
    fn hub(&self) -> &Hub;
    /// The engine.
    fn engine(&self) -> &Engine {
        self.hub().engine()
    }
    /// The workspace (Slack team, Discord server, Teams tenant) addresses
    /// are in.
    fn workspace(&self) -> &str;
    /// A message's address on the platform.
    fn at(&self, channel: &str, message: &str) -> PlatformRef {
        PlatformRef {
            platform: Self::PLATFORM,
            workspace: self.workspace().to_owned(),
            channel: channel.to_owned(),
            message_id: message.to_owned(),
        }
    }
    /// Wakes the outbox worker: something just changed.
    fn wake(&self) {
        self.hub().wake();
    }
    /// Text as the platform shows it literally (its markup escaped).
    fn escape(&self, text: &str) -> String;

    /// The staff channel a ticket of a department goes to; `None` when the
    /// platform has no staff side.
    fn staff_channel(&self, department: Option<&str>) -> Option<String>;
    /// The person's user on the platform (in this workspace), if they are
    /// known there.
    fn user_of(
        &self,
        person: PersonId,
    ) -> impl Future<Output = Result<Option<String>, EngineError>> + Send {
        async move {
            let profile = self.engine().person(person).await?;
            Ok(profile
                .identities
                .into_iter()
                .find(|i| i.platform == Self::PLATFORM && i.workspace == self.workspace())
                .map(|i| i.external_id))
        }
    }
    /// The channel a surface's messages are posted in (the card's channel,
    /// or the thread it started).
    fn thread_of(&self, surface: &Surface) -> String;

    /// Opens (or finds) the direct-message channel with a user.
    fn open_dm(&self, user: &str) -> impl Future<Output = Result<String, Self::Error>> + Send;
    /// Posts a card in a channel; the card's message id. Calls that create
    /// something carry their [`Intent`]'s token where the platform keeps
    /// one, for [`ChatPlatform::find_posted`] (or the platform's own
    /// de-duplication) to recognise a repeat.
    fn post_card(
        &self,
        channel: &str,
        facts: &CardFacts,
        to: CardFor,
        intent: &Intent,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;
    /// Redraws a card.
    fn update_card(
        &self,
        surface: &Surface,
        facts: &CardFacts,
        to: CardFor,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Posts a copy of a message in a surface's thread; the id of the
    /// (first) platform message.
    fn post_message(
        &self,
        surface: &Surface,
        message: &Message,
        intent: &Intent,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;
    /// Posts a line of the bot's in a surface's thread.
    fn post_line(
        &self,
        surface: &Surface,
        line: &str,
        intent: &Intent,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Edits a copy the bot posted to a message's current text.
    fn edit_copy(
        &self,
        at: &PlatformRef,
        message: &Message,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Sends an invitation (Accept / Decline) to a user.
    fn invite(
        &self,
        user: &str,
        invitation: Invitation<'_>,
        intent: &Intent,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Sends a line of the bot's to a user in their direct messages (the
    /// owner of a ticket told of a customer's reply).
    fn post_dm(
        &self,
        user: &str,
        line: &str,
        intent: &Intent,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Whether [`ChatPlatform::find_posted`] (or the platform itself)
    /// tells a repeated call after a crash: then several tickets' events
    /// go out at once. `false` (the default): one at a time, so a crash
    /// repeats at most the one message in hand.
    const FINDS_REPEATS: bool = false;

    /// Whether a call made under `intent` at `place`, no earlier than
    /// `since`, took effect: the id of what it posted. Asked when a retry
    /// finds the intent open (the earlier attempt crashed or failed before
    /// recording). `None` when nothing was posted, or when the platform
    /// cannot tell (then the call is made again: a platform that removes
    /// repeats itself, as Discord does with `enforce_nonce`, needs nothing
    /// here).
    fn find_posted(
        &self,
        _place: Place<'_>,
        _intent: &Intent,
        _since: Timestamp,
    ) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send {
        async { Ok(None) }
    }

    /// The channel closed tickets' public transcripts are posted to (the
    /// support team's archive), when one is configured. `None` (the
    /// default): none are posted, and [`ChatPlatform::post_file`] is never
    /// called.
    fn transcript_channel(&self) -> Option<TranscriptChannel> {
        None
    }
    /// Posts a message of the bot's at the top of a channel with `file`
    /// attached, or the comment alone when `file` is `None`; the id of what
    /// it posted. Called only for the
    /// [`ChatPlatform::transcript_channel`]: a platform without one keeps
    /// this default, which posts nothing. Like every call that creates
    /// something, it carries `intent`'s token where the platform keeps one.
    fn post_file(
        &self,
        _channel: &str,
        _comment: &str,
        _file: Option<Upload<'_>>,
        _intent: &Intent,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send {
        async { Ok(String::new()) }
    }

    /// A line posted when a ticket opens on a person's own card.
    fn opened_line(&self, _number: TicketNumber) -> Option<String> {
        None
    }
    /// Starts the thread of a staff card where the platform needs one
    /// made (each step once: it is called again on a redelivery).
    fn start_staff_thread(
        &self,
        _surface: &Surface,
        _facts: &CardFacts,
    ) -> impl Future<Output = Result<(), Failure<Self::Error>>> + Send {
        async { Ok(()) }
    }
    /// Creates (once per ticket) the customers' shared thread; its id.
    fn create_shared_thread(
        &self,
        _ticket: TicketId,
        _facts: &CardFacts,
    ) -> impl Future<Output = Result<String, Failure<Self::Error>>> + Send {
        async { Err(Failure::Engine(EngineError::NotFound("shared thread"))) }
    }
    /// Adds a user to a thread.
    fn add_member(
        &self,
        _thread: &str,
        _user: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
    /// Removes a user from a thread.
    fn remove_member(
        &self,
        _thread: &str,
        _user: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
    /// Locks a surface's thread once its ticket is closed.
    fn close_thread(
        &self,
        _surface: &Surface,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
    /// Renames a surface's thread after the subject changed.
    fn rename_thread(
        &self,
        _surface: &Surface,
        _facts: &CardFacts,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
    /// An event about no ticket that the platform reacts to (Discord
    /// offers departments as command choices).
    fn other_event(
        &self,
        _event: &Event,
    ) -> impl Future<Output = Result<(), Failure<Self::Error>>> + Send {
        async { Ok(()) }
    }
}
