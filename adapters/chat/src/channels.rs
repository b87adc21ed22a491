//! Which staff channel a ticket's card goes to: one per department where
//! a deployment names one (`Billing=C0123,Technical support=C0456`), the
//! triage channel otherwise. Every chat platform reads its
//! `*_DEPARTMENT_CHANNELS` setting here.

use std::collections::BTreeMap;

/// An entry of a `*_DEPARTMENT_CHANNELS` setting that is not
/// `Department name=CHANNEL_ID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pair}` is not `Department name=CHANNEL_ID`")]
pub struct DepartmentChannelError {
    /// The entry as written (trimmed).
    pub pair: String,
}

/// Parses `Billing=C0123,Technical support=C0456` into department names
/// (lower-cased) and channel ids.
pub fn parse_department_channels(
    raw: &str,
) -> Result<BTreeMap<String, String>, DepartmentChannelError> {
    let mut out = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || DepartmentChannelError {
            pair: pair.to_owned(),
        };
        let (name, channel) = pair.split_once('=').ok_or_else(bad)?;
        let (name, channel) = (name.trim(), channel.trim());
        if name.is_empty() || channel.is_empty() || channel.contains(char::is_whitespace) {
            return Err(bad());
        }
        out.insert(name.to_lowercase(), channel.to_owned());
    }
    Ok(out)
}

/// The channel for a ticket's department: its own, else the triage one.
pub fn channel_for<'a>(
    triage: Option<&'a str>,
    departments: &'a BTreeMap<String, String>,
    department: Option<&str>,
) -> Option<&'a str> {
    department
        .and_then(|d| departments.get(&d.to_lowercase()))
        .map(String::as_str)
        .or(triage)
}

/// Every staff channel: the triage one and the departments', once each.
pub fn all_channels<'a>(
    triage: Option<&'a str>,
    departments: &'a BTreeMap<String, String>,
) -> Vec<&'a str> {
    let mut all: Vec<&str> = triage.into_iter().collect();
    for c in departments.values() {
        if !all.contains(&c.as_str()) {
            all.push(c);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_channels_parse_and_route_case_insensitively() {
        let map = parse_department_channels(" Billing=C1, Technical support = C2 ,").unwrap();
        assert_eq!(channel_for(Some("C0"), &map, Some("billing")), Some("C1"));
        assert_eq!(
            channel_for(Some("C0"), &map, Some("Technical Support")),
            Some("C2")
        );
        assert_eq!(channel_for(Some("C0"), &map, Some("Sales")), Some("C0"));
        assert_eq!(channel_for(Some("C0"), &map, None), Some("C0"));
        assert_eq!(channel_for(None, &map, None), None);
        assert_eq!(all_channels(Some("C0"), &map), vec!["C0", "C1", "C2"]);
    }

    #[test]
    fn malformed_department_channels_say_what_is_wrong() {
        assert_eq!(
            parse_department_channels("Billing")
                .unwrap_err()
                .to_string(),
            "`Billing` is not `Department name=CHANNEL_ID`"
        );
        assert!(parse_department_channels("=C1").is_err());
        assert!(parse_department_channels("Billing=C 1").is_err());
    }
}
