//! The shared test kit of chat adapters (feature `testing`): the request
//! checker fake platform servers validate what we send with ([`spec`]),
//! and the both-backends story template (re-exported from core).

pub mod spec;

pub use spec::Spec;

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct FormPart {
    /// The part's name.
    pub name: String,
    /// Its file name, for a file part.
    pub filename: Option<String>,
    /// Its content type, if it says one.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The parts of a `multipart/form-data` body, in order, read as axum reads
/// them (a body without its closing delimiter is refused): what a fake
/// platform server checks a file upload with.
pub async fn form_parts(
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Vec<FormPart>, String> {
    use axum::extract::{FromRequest, Multipart};
    let mut request = axum::http::Request::builder().method("POST").uri("/");
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let request = request
        .body(axum::body::Body::from(body))
        .map_err(|e| e.to_string())?;
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| e.body_text())?;
    let mut parts = vec![];
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let content_type = field.content_type().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| e.body_text())?;
        parts.push(FormPart {
            name,
            filename,
            content_type,
            bytes: bytes.to_vec(),
        });
    }
    Ok(parts)
}

/// A fake's record in a long run that keeps only about the latest `keep`
/// entries (between `keep` and `2 keep`): once it holds twice that, the
/// oldest go, in one batch, so that recording stays cheap. `None` keeps
/// everything (a test's run).
pub fn keep_latest<T>(record: &mut Vec<T>, keep: Option<usize>) {
    if let Some(keep) = keep {
        if record.len() >= 2 * keep.max(1) {
            let drop = record.len() - keep;
            record.drain(..drop);
        }
    }
}

/// Forgets, among all but the latest `keep` entries, those that `stays`
/// refuses; gives them back (a fake forgets what hangs on them too).
pub fn forget_oldest<T>(record: &mut Vec<T>, keep: usize, stays: impl Fn(&T) -> bool) -> Vec<T> {
    let cut = record.len().saturating_sub(keep);
    let (kept, gone): (Vec<T>, Vec<T>) = record.drain(..cut).partition(|entry| stays(entry));
    record.splice(..0, kept);
    gone
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_oldest_are_forgotten_unless_they_stay() {
        let mut v: Vec<u32> = (0..10).collect();
        let gone = super::forget_oldest(&mut v, 3, |&i| i % 4 == 0);
        assert_eq!(gone, [1, 2, 3, 5, 6]);
        assert_eq!(v, [0, 4, 7, 8, 9]);
        let mut few: Vec<u32> = (0..2).collect();
        assert!(super::forget_oldest(&mut few, 3, |_| false).is_empty());
        assert_eq!(few, [0, 1]);
    }

    #[test]
    fn a_record_keeps_between_the_bound_and_twice_it() {
        let mut v: Vec<u32> = vec![];
        for i in 0..25 {
            v.push(i);
            super::keep_latest(&mut v, Some(5));
            assert!(v.len() < 10, "{v:?}");
        }
        assert!(v.len() >= 5 && *v.last().unwrap() == 24, "{v:?}");
        let mut all: Vec<u32> = (0..100).collect();
        super::keep_latest(&mut all, None);
        assert_eq!(all.len(), 100);
    }
}
