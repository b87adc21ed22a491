//! A place in a ticket list, carried by a "More" button.

use std::fmt;
use std::str::FromStr;
use threadesk_core::domain::{Cursor, ParseError, View};

/// Whose tickets a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The person's own tickets and those shared with them.
    #[default]
    Mine,
    /// Their organization's (company ticket admins).
    Organization,
}

impl Scope {
    /// The word used in commands and button values.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Mine => "mine",
            Scope::Organization => "org",
        }
    }
}

/// A list's scope and view, and where its page starts:
/// `mine:active`, `org:closed:0.1700000000.42`. It fits a Slack button
/// value and a Discord custom id (100 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListAt {
    /// Whose tickets.
    pub scope: Scope,
    /// Active, closed or all.
    pub view: View,
    /// After which ticket the page starts; `None` for the first page.
    pub after: Option<Cursor>,
}

impl ListAt {
    /// The first page of a list.
    pub fn first(scope: Scope, view: View) -> Self {
        ListAt {
            scope,
            view,
            after: None,
        }
    }
}

/// The view's word (`active`, `closed`, `all`).
pub fn view_word(view: View) -> &'static str {
    match view {
        View::Active => "active",
        View::Closed => "closed",
        View::All => "all",
    }
}

impl fmt::Display for ListAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scope.as_str(), view_word(self.view))?;
        if let Some(c) = self.after {
            write!(f, ":{c}")?;
        }
        Ok(())
    }
}

impl FromStr for ListAt {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let scope = match parts.next().unwrap_or_default() {
            "org" | "organization" => Scope::Organization,
            "mine" | "" => Scope::Mine,
            other => {
                return Err(ParseError::Unknown {
                    what: "list",
                    value: other.to_owned(),
                    hint: Some("use mine or org".to_owned()),
                })
            }
        };
        let view = parts.next().unwrap_or_default().parse()?;
        let after = parts.next().map(str::parse).transpose()?;
        Ok(ListAt { scope, view, after })
    }
}

/// Where a search's next page starts: the words and the last ticket
/// shown. Written `find:<cursor or ->:<words>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchAt {
    /// The words searched for.
    pub words: String,
    /// After which ticket the page starts; `None` for the first page.
    pub after: Option<Cursor>,
}

/// What a "More" button continues: a list or a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum More {
    /// A list of one's tickets.
    List(ListAt),
    /// A search's results.
    Search(SearchAt),
}

impl Default for More {
    fn default() -> Self {
        More::List(ListAt::default())
    }
}

impl fmt::Display for More {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            More::List(at) => at.fmt(f),
            More::Search(at) => {
                f.write_str("find:")?;
                match at.after {
                    Some(c) => write!(f, "{c}")?,
                    None => f.write_str("-")?,
                }
                write!(f, ":{}", at.words)
            }
        }
    }
}

impl FromStr for More {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(rest) = s.strip_prefix("find:") else {
            return s.parse().map(More::List);
        };
        let (cursor, words) = rest.split_once(':').unwrap_or((rest, ""));
        let after = match cursor {
            "-" | "" => None,
            c => Some(c.parse()?),
        };
        Ok(More::Search(SearchAt {
            words: words.to_owned(),
            after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_in_a_search_reads_back_as_written() {
        let at = More::Search(SearchAt {
            words: "toner: tray 2".into(),
            after: Some(Cursor {
                rank: 0,
                last_activity_at: 1_700_000_000_000,
                id: 42,
            }),
        });
        let written = at.to_string();
        assert_eq!(written, "find:0.1700000000000.42:toner: tray 2");
        assert_eq!(written.parse::<More>().unwrap(), at);
        let first = More::Search(SearchAt {
            words: "vpn".into(),
            after: None,
        });
        assert_eq!(first.to_string().parse::<More>().unwrap(), first);
        assert_eq!(
            "org:closed".parse::<More>().unwrap(),
            More::List(ListAt::first(Scope::Organization, View::Closed))
        );
        assert!("find:x.y:vpn".parse::<More>().is_err());
    }

    #[test]
    fn a_place_in_a_list_reads_back_as_written() {
        let at = ListAt {
            scope: Scope::Organization,
            view: View::Closed,
            after: Some(Cursor {
                rank: 1,
                last_activity_at: 1_700_000_000_000,
                id: 42,
            }),
        };
        let written = at.to_string();
        assert_eq!(written, "org:closed:1.1700000000000.42");
        assert_eq!(written.parse::<ListAt>().unwrap(), at);
        assert_eq!(
            "mine:all".parse::<ListAt>().unwrap(),
            ListAt::first(Scope::Mine, View::All)
        );
        assert!("team:all".parse::<ListAt>().is_err());
        assert!("mine:all:1.2".parse::<ListAt>().is_err());
        // the longest fits a Discord custom id with its prefix.
        let longest = ListAt {
            after: Some(Cursor {
                rank: i64::MIN,
                last_activity_at: i64::MIN,
                id: i64::MIN,
            }),
            ..at
        };
        assert!(format!("list:{longest}").len() <= 100);
    }
}
