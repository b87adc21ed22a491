//! What people do in chat, as typed inputs, and the one executor that
//! turns an input into engine calls and an answer. A platform reads its
//! payloads into these at the edge ([`Command::from_text`] for platforms
//! where commands are typed as text) and draws the [`Reply`].

mod command;
mod desk;
mod list;

pub use command::{usage, Command, DepartmentCommand, SavedCommand, TextSyntax, Unreadable};
pub use desk::{
    authored_message, close_by_reaction, command, edit, is_closing, list, more, rate, saved_picker,
    send_saved, write, ChatDesk, Refusal, Reply, SavedChoice, SavedPicker, TicketPage, Written,
    Wrote, NO_SAVED_REPLIES, PAGE, QUEUE_PAGE,
};
pub use list::{view_word, ListAt, More, Scope, SearchAt};
