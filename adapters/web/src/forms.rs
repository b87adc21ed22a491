//! Multipart forms (the ones with file inputs): text fields kept in memory
//! (bounded), files streamed into the blob store as they arrive.

use crate::error::WebError;
use crate::session::Me;
use crate::Portal;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::Multipart;
use axum::http::StatusCode;
use std::collections::HashMap;
use threadesk_core::domain::AttachmentMeta;

/// The largest text field of a form, in bytes (a message is at most
/// 16 000 characters; this leaves room for any encoding).
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// A submitted form with its uploaded files.
#[derive(Debug, Default)]
pub(crate) struct Submitted {
    fields: HashMap<String, String>,
    /// The uploaded files, already stored.
    pub files: Vec<AttachmentMeta>,
    /// Why the files were refused (too large), in words: the text fields
    /// read before them are kept so the form can be shown again with them,
    /// and no file is.
    pub refused: Option<String>,
}

impl Submitted {
    /// The stored files the command's result does not refer to (a repeat
    /// of a committed form replays the first result): to remove.
    pub fn unused(&self, kept: &[threadesk_core::domain::Attachment]) -> Vec<String> {
        self.files
            .iter()
            .filter(|f| !kept.iter().any(|k| k.url == f.url))
            .map(|f| f.url.clone())
            .collect()
    }

    /// A text field, or "" when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }

    /// Refuses the files (too large): every one stored so far is removed,
    /// and the text is kept with why.
    async fn refuse(&mut self, portal: &Portal, why: String) {
        portal.blobs().forget(&self.links()).await;
        self.files.clear();
        self.refused = Some(why);
    }

    /// The links of the stored files, to remove them if the command fails.
    pub fn links(&self) -> Vec<String> {
        self.files.iter().map(|f| f.url.clone()).collect()
    }
}

/// A refusal of files too large: the form is shown again with its text.
fn too_large(sentence: String) -> WebError {
    let page = crate::views::error_page(StatusCode::PAYLOAD_TOO_LARGE, &sentence);
    WebError::Page(StatusCode::PAYLOAD_TOO_LARGE, sentence, page)
}

fn upload_error(e: MultipartError) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(
            "the files are too large for one upload, so none was kept; attach fewer or smaller files"
                .into(),
        )
    } else {
        WebError::BadRequest(format!("the form could not be read: {}", e.body_text()))
    }
}

/// Reads a whole multipart form. On any error, files stored so far are
/// removed again. A form whose request id (`request`, before the files)
/// already committed is a repeat that will only replay the first result:
/// its files are read but not stored.
pub(crate) async fn read(
    portal: &Portal,
    me: &Me,
    mut form: Multipart,
) -> Result<Submitted, WebError> {
    let mut done = Submitted::default();
    // the form's idempotency key, and whether it is a repeat: asked at its
    // first named file (a form without files costs no lookup).
    let mut key: Option<String> = None;
    let mut repeat = None;
    // what a form may carry in files; past it, the rest is read and
    // dropped, so that the person gets their page back with their text
    // (the request as a whole is capped at a multiple of it, see
    // `Portal::router`).
    let mut budget = u64::try_from(portal.config().max_upload_bytes).unwrap_or(u64::MAX);
    let outcome = async {
        while let Some(field) = form.next_field().await.map_err(upload_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            if repeat.is_none() && file_name.as_deref().is_some_and(|f| !f.is_empty()) {
                repeat = Some(match &key {
                    Some(key) => portal.engine().key_used(key).await.unwrap_or(false),
                    None => false,
                });
            }
            match file_name {
                Some(_) if repeat == Some(true) || done.refused.is_some() => skip(field).await?,
                Some(file_name) => match store_file(portal, field, &file_name, budget).await {
                    Ok(Some(meta)) => {
                        budget = budget.saturating_sub(meta.size_bytes);
                        done.files.push(meta);
                    }
                    Ok(None) => {}
                    Err(Stored::TooLarge(sentence, rest)) => {
                        // read the rest without keeping it.
                        done.refuse(portal, sentence).await;
                        skip(*rest).await?;
                    }
                    Err(Stored::Failed(e)) => return Err(e),
                },
                None if name == "request" => {
                    let value = read_text(field).await?;
                    key = me.key_for(&value);
                    done.fields.insert(name, value);
                }
                None => {
                    let value = read_text(field).await?;
                    done.fields.insert(name, value);
                }
            }
        }
        Ok::<(), WebError>(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(done),
        // refused before a field was read (far too large): nothing to keep.
        Err(WebError::Page(StatusCode::PAYLOAD_TOO_LARGE, sentence, _))
            if !done.fields.is_empty() =>
        {
            // the text came before the files: keep it.
            done.refuse(portal, sentence).await;
            Ok(done)
        }
        Err(e) => {
            portal.blobs().forget(&done.links()).await;
            Err(e)
        }
    }
}

/// Reads a file field to its end without keeping it.
async fn skip(mut field: Field<'_>) -> Result<(), WebError> {
    while field.chunk().await.map_err(upload_error)?.is_some() {}
    Ok(())
}

async fn read_text(mut field: Field<'_>) -> Result<String, WebError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(upload_error)? {
        if bytes.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(WebError::BadRequest("a text field is too long".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| WebError::BadRequest("the form is not UTF-8".into()))
}

/// Why a file was not stored.
enum Stored<'a> {
    /// Over the per-file limit or the form's budget: what to say, and the
    /// field, to read to its end.
    TooLarge(String, Box<Field<'a>>),
    /// Anything else.
    Failed(WebError),
}

/// Streams one file into the blob store; an empty file input (nothing
/// chosen) is skipped.
async fn store_file<'a>(
    portal: &Portal,
    mut field: Field<'a>,
    file_name: &str,
    budget: u64,
) -> Result<Option<AttachmentMeta>, Stored<'a>> {
    let content_type = field
        .content_type()
        .unwrap_or("application/octet-stream")
        .to_owned();
    let per_file = portal.engine().settings().max_attachment_bytes;
    let blobs = portal.blobs();
    let mut upload = blobs
        .create()
        .await
        .map_err(|e| Stored::Failed(WebError::Internal(format!("blob store: {e}"))))?;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                blobs.discard(upload).await;
                return Err(Stored::Failed(upload_error(e)));
            }
        };
        let size = upload.size + chunk.len() as u64;
        if size > per_file.min(budget) {
            blobs.discard(upload).await;
            let sentence = if size > per_file {
                format!(
                    "the file {file_name} is larger than the limit of {} per file, so no file was kept; attach a smaller one",
                    crate::views::size(per_file)
                )
            } else {
                format!(
                    "the files are too large for one message (up to {} in all), so none was kept; attach fewer or smaller files",
                    crate::views::size(u64::try_from(portal.config().max_upload_bytes).unwrap_or(u64::MAX))
                )
            };
            return Err(Stored::TooLarge(sentence, Box::new(field)));
        }
        if let Err(e) = upload.write(&chunk).await {
            blobs.discard(upload).await;
            return Err(Stored::Failed(WebError::Internal(format!(
                "blob store: {e}"
            ))));
        }
    }
    if file_name.is_empty() && upload.size == 0 {
        blobs.discard(upload).await;
        return Ok(None);
    }
    let size_bytes = upload.size;
    let url = blobs
        .keep(upload)
        .await
        .map_err(|e| Stored::Failed(WebError::Internal(format!("blob store: {e}"))))?;
    Ok(Some(AttachmentMeta {
        name: file_name.to_owned(),
        content_type,
        size_bytes,
        url,
    }))
}
