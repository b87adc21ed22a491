//! The fake REST API: each request recorded, checked against the
//! specification, and answered from the fake's state.

use super::*;

pub(super) fn segments_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_matches('/').split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| *a == "*" || a == b)
}

pub(super) fn error(status: u16, code: u64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

pub(super) fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn channel_json(id: &str, c: &Channel) -> Value {
    let mut v = json!({ "id": id, "type": c.kind, "name": c.name, "guild_id": GUILD, "flags": 0 });
    if let Some(p) = &c.parent {
        v["parent_id"] = json!(p);
        v["thread_metadata"] = json!({ "archived": c.archived, "locked": c.locked, "auto_archive_duration": 10080, "archive_timestamp": "2026-11-23T10:00:00.000000+00:00" });
        v["owner_id"] = json!(BOT_USER);
    }
    if c.kind == 1 {
        if let Some(o) = v.as_object_mut() {
            o.remove("guild_id");
            o.remove("name");
        }
        v["recipients"] = json!([{ "id": c.recipient, "username": "someone", "discriminator": "0", "avatar": null }]);
    }
    v
}

fn bot_message(id: &str, channel: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "channel_id": channel,
        "author": { "id": BOT_USER, "username": "threadesk", "discriminator": "0", "avatar": null, "bot": true },
        "content": body["content"].as_str().unwrap_or_default(),
        "embeds": body["embeds"].clone(),
        "components": body["components"].clone(),
        "timestamp": "2026-11-23T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "pinned": false, "type": 0,
    })
}

pub(super) async fn rest(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<Map<String, Value>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full = uri.path().to_owned();
    let Some(path) = full.strip_prefix("/api/v10").map(str::to_owned) else {
        return error(404, 0, "404: Not Found");
    };
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    let mut files: Vec<FormFile> = vec![];
    let mut form_problems = vec![];
    let body: Value = if multipart {
        match read_form(&headers, body).await {
            Ok(form) => {
                form_problems = form_problems_of(method.as_str(), &path, &form);
                files = form.files;
                form.payload
            }
            Err(why) => {
                form_problems.push(format!(
                    "{method} {path}: unreadable multipart/form-data body: {why}"
                ));
                Value::Null
            }
        }
    } else if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(400, 50109, "The request body contains invalid JSON."),
        }
    };
    let delay = {
        let mut g = inner.lock().expect("fake state");
        let i = g.delays.iter().position(|(f, _)| path.contains(f.as_str()));
        i.and_then(|i| g.delays.remove(i)).map(|(_, d)| d)
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut g = inner.lock().expect("fake state");
    let record = |g: &mut Inner, status: u16| {
        g.record(Call {
            method: method.to_string(),
            path: path.clone(),
            body: body.clone(),
            status,
        })
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bot fake-bot-token") {
        record(&mut g, 401);
        return error(401, 0, "401: Unauthorized");
    }
    let mut problems = spec_problems(method.as_str(), &path, &query, &body);
    problems.extend(form_problems);
    if !problems.is_empty() {
        g.violations.extend(problems.clone());
        record(&mut g, 400);
        return error(
            400,
            50035,
            &format!("Invalid Form Body: {}", problems.join("; ")),
        );
    }
    if let Some(i) = g
        .failures
        .iter()
        .position(|(f, _)| path.contains(f.as_str()))
    {
        let (_, status) = g.failures.remove(i).unwrap_or_default();
        record(&mut g, status);
        if status == 429 {
            let mut r = error(429, 0, "You are being rate limited.");
            let h = r.headers_mut();
            h.insert("retry-after", "0.3".parse().expect("a header"));
            h.insert("x-ratelimit-limit", "5".parse().expect("a header"));
            h.insert("x-ratelimit-remaining", "0".parse().expect("a header"));
            h.insert("x-ratelimit-reset-after", "0.3".parse().expect("a header"));
            h.insert("x-ratelimit-bucket", "fake".parse().expect("a header"));
            return r;
        }
        return error(status, 0, "Internal Server Error");
    }
    let seg: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect();
    if seg.len() >= 2 && seg[0] == "channels" && g.refused.contains(&seg[1]) {
        record(&mut g, 403);
        return error(403, 50001, "Missing Access");
    }
    let s: Vec<&str> = seg.iter().map(String::as_str).collect();
    let m = method.as_str();
    let answer = match (m, s.as_slice()) {
        ("GET", ["users", "@me"]) => ok(
            json!({ "id": BOT_USER, "username": "threadesk", "discriminator": "0", "global_name": null, "avatar": null, "bot": true, "flags": 0 }),
        ),
        ("GET", ["gateway"]) => ok(json!({ "url": g.gateway_url })),
        ("GET", ["gateway", "bot"]) => ok(
            json!({ "url": g.gateway_url, "shards": 1, "session_start_limit": { "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1 } }),
        ),
        ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let list: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!((840000000000000001u64 + i as u64).to_string());
                    c["application_id"] = json!(APPLICATION.to_string());
                    c["version"] = json!("1");
                    c
                })
                .collect();
            ok(Value::Array(list))
        }
        ("GET", ["channels", id]) => match g.channels.get(*id) {
            Some(c) => ok(channel_json(id, c)),
            None => error(404, 10003, "Unknown Channel"),
        },
        ("PATCH", ["channels", id]) => {
            let id = (*id).to_owned();
            match g.channels.get_mut(&id) {
                Some(c) => {
                    if let Some(a) = body["archived"].as_bool() {
                        c.archived = a;
                    }
                    if let Some(l) = body["locked"].as_bool() {
                        c.locked = l;
                    }
                    if let Some(n) = body["name"].as_str() {
                        c.name = n.to_owned();
                    }
                    let c = c.clone();
                    ok(channel_json(&id, &c))
                }
                None => error(404, 10003, "Unknown Channel"),
            }
        }
        ("GET", ["guilds", _, "threads", "active"]) => {
            let mut threads: Vec<(&String, &Channel)> = g
                .channels
                .iter()
                .filter(|(_, c)| c.parent.is_some() && !c.archived)
                .collect();
            threads.sort_by_key(|(id, _)| id.parse::<u64>().unwrap_or(0));
            let threads: Vec<Value> = threads
                .into_iter()
                .map(|(id, c)| channel_json(id, c))
                .collect();
            ok(json!({ "threads": threads, "members": [] }))
        }
        ("POST", ["channels", parent, "threads"]) => {
            g.next_id += 1;
            let id = g.next_id.to_string();
            let c = Channel {
                parent: Some((*parent).to_owned()),
                kind: body["type"].as_u64().unwrap_or(11),
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                members: [BOT_USER.to_owned()].into(),
                ..Channel::default()
            };
            g.channels.insert(id.clone(), c.clone());
            (StatusCode::CREATED, axum::Json(channel_json(&id, &c))).into_response()
        }
        ("POST", ["channels", parent, "messages", msg, "threads"]) => {
            let id = (*msg).to_owned();
            if g.channels.contains_key(&id) {
                error(
                    400,
                    160004,
                    "A thread has already been created for this message",
                )
            } else {
                let c = Channel {
                    parent: Some((*parent).to_owned()),
                    kind: 11,
                    name: body["name"].as_str().unwrap_or_default().to_owned(),
                    members: [BOT_USER.to_owned()].into(),
                    ..Channel::default()
                };
                g.channels.insert(id.clone(), c.clone());
                (StatusCode::CREATED, axum::Json(channel_json(&id, &c))).into_response()
            }
        }
        ("PUT" | "DELETE", ["channels", id, "thread-members", user]) => {
            let (id, user) = ((*id).to_owned(), (*user).to_owned());
            match g.channels.get_mut(&id) {
                // Discord changes no members of an archived thread.
                Some(c) if c.archived => error(400, 50083, "Thread is archived"),
                Some(c) => {
                    if m == "PUT" {
                        c.members.insert(user);
                    } else {
                        c.members.remove(&user);
                    }
                    StatusCode::NO_CONTENT.into_response()
                }
                None => error(404, 10003, "Unknown Channel"),
            }
        }
        ("POST", ["channels", id, "messages"]) => {
            let id = (*id).to_owned();
            match g.channels.get(&id) {
                None => error(404, 10003, "Unknown Channel"),
                Some(c) if c.locked => error(403, 50083, "Thread is archived"),
                Some(c) => {
                    let members = c.members.clone();
                    let nonce = body["nonce"].as_str().map(str::to_owned);
                    if nonce.as_ref().is_some_and(|n| n.len() > 25) {
                        g.violations
                            .push("a nonce is at most 25 characters".to_owned());
                        record(&mut g, 400);
                        return error(400, 50035, "Invalid Form Body: nonce");
                    }
                    // enforce_nonce: the same author's nonce seen within
                    // the window returns that message, nothing new.
                    let repeat = nonce
                        .as_ref()
                        .filter(|_| body["enforce_nonce"] == true)
                        .and_then(|n| g.nonces.get(n))
                        .filter(|(_, at)| at.elapsed() < NONCE_WINDOW)
                        .map(|(mid, _)| mid.clone());
                    let repeat = repeat.and_then(|mid| g.message_mut(&mid).map(|m| m.clone()));
                    if let Some(msg) = repeat {
                        record(&mut g, 200);
                        return ok(msg);
                    }
                    g.next_id += 1;
                    let mid = g.next_id.to_string();
                    let mut msg = bot_message(&mid, &id, &body);
                    let mut attachments = vec![];
                    for f in std::mem::take(&mut files) {
                        g.next_id += 1;
                        let aid = g.next_id.to_string();
                        attachments.push(json!({
                            "id": aid, "filename": f.filename, "size": f.bytes.len(),
                            "content_type": f.content_type,
                            "url": format!("https://cdn.discordapp.com/attachments/{id}/{aid}/{}", f.filename),
                            "proxy_url": format!("https://media.discordapp.net/attachments/{id}/{aid}/{}", f.filename),
                        }));
                        g.files.push(Posted {
                            message: mid.clone(),
                            channel: id.clone(),
                            part: f.part,
                            filename: f.filename,
                            content_type: f.content_type,
                            bytes: f.bytes,
                        });
                    }
                    msg["attachments"] = Value::Array(attachments);
                    if let Some(n) = nonce {
                        msg["nonce"] = json!(n);
                        g.nonces.insert(n, (mid.clone(), std::time::Instant::now()));
                    }
                    // who was in the channel when it arrived: who got it.
                    g.posted(msg.clone(), members);
                    ok(msg)
                }
            }
        }
        ("PATCH", ["channels", id, "messages", mid]) => {
            let (id, mid) = ((*id).to_owned(), (*mid).to_owned());
            match g
                .message_mut(&mid)
                .filter(|x| x["channel_id"] == id.as_str())
            {
                Some(x) => {
                    for k in ["content", "embeds", "components"] {
                        if !body[k].is_null() {
                            x[k] = body[k].clone();
                        }
                    }
                    ok(x.clone())
                }
                None => error(404, 10008, "Unknown Message"),
            }
        }
        ("DELETE", ["channels", id, "messages", mid]) => {
            let (id, mid) = ((*id).to_owned(), (*mid).to_owned());
            let before = g.messages.len();
            g.messages
                .retain(|x| !(x["id"] == mid.as_str() && x["channel_id"] == id.as_str()));
            if g.messages.len() < before {
                g.index_messages();
                StatusCode::NO_CONTENT.into_response()
            } else {
                error(404, 10008, "Unknown Message")
            }
        }
        ("GET", ["channels", id, "messages"]) => {
            let after = query
                .get("after")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<u64>().ok())
                .unwrap_or(0);
            let limit = query
                .get("limit")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<usize>().ok())
                .unwrap_or(50);
            let mut found: Vec<Value> = g
                .messages
                .iter()
                .filter(|x| {
                    x["channel_id"] == *id
                        && x["id"]
                            .as_str()
                            .and_then(|i| i.parse::<u64>().ok())
                            .unwrap_or(0)
                            > after
                })
                .cloned()
                .collect();
            found.truncate(limit);
            found.reverse();
            ok(Value::Array(found))
        }
        ("POST", ["users", "@me", "channels"]) => {
            let user = body["recipient_id"].as_str().unwrap_or_default().to_owned();
            let existing = g
                .channels
                .iter()
                .find(|(_, c)| c.recipient.as_deref() == Some(user.as_str()))
                .map(|(id, c)| (id.clone(), c.clone()));
            let (id, c) = match existing {
                Some(x) => x,
                None => {
                    g.next_id += 1;
                    let id = g.next_id.to_string();
                    let c = Channel {
                        kind: 1,
                        recipient: Some(user),
                        ..Channel::default()
                    };
                    g.channels.insert(id.clone(), c.clone());
                    (id, c)
                }
            };
            ok(channel_json(&id, &c))
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => ok(bot_message("1", "1", &body)),
        _ => error(404, 0, "404: Not Found"),
    };
    if let Some(i) = g
        .lost_answers
        .iter()
        .position(|f| path.contains(f.as_str()))
    {
        // it took effect; the answer is lost on the way back.
        g.lost_answers.remove(i);
        record(&mut g, 500);
        return error(500, 0, "Internal Server Error");
    }
    record(&mut g, answer.status().as_u16());
    answer
}

/// A file part of a `multipart/form-data` request.
pub(super) struct FormFile {
    part: String,
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// A `multipart/form-data` request as read: the JSON body (the part
/// `payload_json`), the file parts, and the parts that are neither.
pub(super) struct Form {
    payload: Value,
    files: Vec<FormFile>,
    /// What is wrong with the parts themselves.
    wrong: Vec<String>,
}

/// Reads a `multipart/form-data` body (as axum does: a body without its
/// closing delimiter is refused).
async fn read_form(headers: &HeaderMap, body: Bytes) -> Result<Form, String> {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    let parts = threadesk_chat::testing::form_parts(content_type, body.to_vec()).await?;
    let mut form = Form {
        payload: Value::Null,
        files: vec![],
        wrong: vec![],
    };
    let mut seen = BTreeSet::new();
    for part in parts {
        let threadesk_chat::testing::FormPart {
            name,
            filename,
            content_type,
            bytes,
        } = part;
        if !seen.insert(name.clone()) {
            form.wrong
                .push(format!("the part {name} comes more than once"));
        }
        match (name.as_str(), filename) {
            ("payload_json", None) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v @ Value::Object(_)) => form.payload = v,
                _ => form
                    .wrong
                    .push("payload_json is not a JSON object".to_owned()),
            },
            (_, Some(filename)) if name.starts_with("files[") => form.files.push(FormFile {
                part: name,
                filename,
                content_type,
                bytes,
            }),
            (_, Some(_)) => form
                .wrong
                .push(format!("the file part {name} is not files[n]")),
            (_, None) => form.wrong.push(format!(
                "the text part {name}: the body goes in payload_json, files in files[n]"
            )),
        }
    }
    Ok(form)
}

/// What the specification says of a form beyond its `payload_json`
/// (checked as the JSON body): the operation takes `multipart/form-data`,
/// each file part is one it documents (`files[0]`…`files[9]`), has a
/// file name, and is named by the body's `attachments` with its index as
/// id; every attachment named is there.
fn form_problems_of(method: &str, path: &str, form: &Form) -> Vec<String> {
    let Some((template, item)) = spec().operation(path) else {
        return vec![];
    };
    let at = format!("{method} {template}");
    let schema =
        &item[method.to_lowercase()]["requestBody"]["content"]["multipart/form-data"]["schema"];
    if schema.is_null() {
        return vec![format!("{at}: takes no multipart/form-data body")];
    }
    let mut wrong: Vec<String> = form.wrong.iter().map(|w| format!("{at}: {w}")).collect();
    let parts: Map<String, Value> = form
        .files
        .iter()
        .map(|f| (f.part.clone(), Value::String(f.filename.clone())))
        .collect();
    let mut e = vec![];
    spec().check(schema, &Value::Object(parts), "form", &mut e);
    wrong.extend(e.into_iter().map(|x| format!("{at}: {x}")));
    let attachments: Vec<&Value> = form.payload["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let id_of = |a: &Value| match &a["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for f in &form.files {
        let index = f
            .part
            .trim_start_matches("files[")
            .trim_end_matches(']')
            .to_owned();
        if f.filename.is_empty() {
            wrong.push(format!("{at}: the part {} has no file name", f.part));
        }
        if !attachments.iter().any(|a| id_of(a) == index) {
            wrong.push(format!(
                "{at}: no attachment with id {index} names the part {}",
                f.part
            ));
        }
    }
    for a in &attachments {
        let id = id_of(a);
        if !form.files.iter().any(|f| f.part == format!("files[{id}]")) {
            wrong.push(format!("{at}: the attachment {id} has no part files[{id}]"));
        }
    }
    wrong
}
