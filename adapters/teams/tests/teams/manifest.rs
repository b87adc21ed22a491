//! The Teams app package: `manifest.json` conforms to Microsoft's v1.24
//! manifest schema (checked with the same checker the fakes use) and
//! declares what the adapter relies on (the command menus, file support,
//! the "Create ticket" message action, resource-specific consent to read
//! the triage channel's threads); the two icons are PNGs of the sizes
//! Teams requires, the outline one white on transparent.

use serde_json::Value;
use threadesk_chat::testing::Spec;

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.json");
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/specs/teams/MicrosoftTeams-v1.24.schema.json"
);
const ICONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/icons");
/// The app id shipped in the manifest; the README has the admin replace
/// every occurrence with their app registration's id.
const PLACEHOLDER_ID: &str = "00000000-0000-0000-0000-000000000000";

fn manifest() -> Value {
    let text = std::fs::read_to_string(MANIFEST)
        .unwrap_or_else(|e| panic!("the manifest {MANIFEST} cannot be read: {e}"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the manifest {MANIFEST} is not JSON: {e}"))
}

/// What the v1.24 schema says of a manifest; empty when it conforms.
fn problems(manifest: &Value) -> Vec<String> {
    let spec = Spec::load(SCHEMA);
    let mut errs = vec![];
    spec.check(spec.root(), manifest, "", &mut errs);
    errs
}

/// The command titles of the bot's command list for one scope.
fn commands(bot: &Value, scope: &str) -> Vec<String> {
    let lists = bot["commandLists"].as_array().expect("commandLists");
    let list = lists
        .iter()
        .find(|l| {
            l["scopes"]
                .as_array()
                .is_some_and(|s| s.contains(&Value::from(scope)))
        })
        .unwrap_or_else(|| panic!("no command list for the {scope} scope"));
    list["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| {
            assert!(
                c["description"].as_str().is_some_and(|d| !d.is_empty()),
                "the {scope} command {c} has no description"
            );
            c["title"].as_str().expect("a command title").to_owned()
        })
        .collect()
}

fn icon(name: &str) -> Vec<u8> {
    let path = format!("{ICONS}/{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("the icon {path} cannot be read: {e}"))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A PNG's chunks, as (type, data), after checking the signature.
fn chunks(png: &[u8]) -> Vec<([u8; 4], &[u8])> {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG (bad signature)"
    );
    let mut out = vec![];
    let mut at = 8;
    while at + 12 <= png.len() {
        let len = be32(&png[at..]) as usize;
        let kind = [png[at + 4], png[at + 5], png[at + 6], png[at + 7]];
        let data = png
            .get(at + 8..at + 8 + len)
            .expect("a truncated PNG chunk");
        out.push((kind, data));
        at += 12 + len;
    }
    assert_eq!(out.first().map(|c| &c.0), Some(b"IHDR"), "IHDR comes first");
    assert_eq!(out.last().map(|c| &c.0), Some(b"IEND"), "IEND comes last");
    out
}

/// (width, height) from the IHDR chunk: bytes 16..24 of the file.
fn png_size(png: &[u8]) -> (u32, u32) {
    chunks(png);
    (be32(&png[16..20]), be32(&png[20..24]))
}

/// The image data of a zlib stream made only of stored (uncompressed)
/// deflate blocks, which is how `outline.png` is written so that this
/// test can read its pixels without an inflater.
fn stored_zlib(z: &[u8]) -> Vec<u8> {
    assert!(z.len() >= 2, "an empty zlib stream");
    assert_eq!(z[0] & 0x0f, 8, "zlib: not deflate");
    assert_eq!(z[1] & 0x20, 0, "zlib: a preset dictionary");
    let mut out = vec![];
    let mut at = 2;
    loop {
        let header = z[at];
        assert_eq!(
            (header >> 1) & 3,
            0,
            "outline.png must stay uncompressed (stored deflate blocks, zlib level 0) \
             so this test can check its pixels; write it again at level 0"
        );
        let len = u16::from_le_bytes([z[at + 1], z[at + 2]]);
        let nlen = u16::from_le_bytes([z[at + 3], z[at + 4]]);
        assert_eq!(len, !nlen, "a stored block's LEN and NLEN disagree");
        let start = at + 5;
        out.extend_from_slice(&z[start..start + usize::from(len)]);
        at = start + usize::from(len);
        if header & 1 == 1 {
            return out;
        }
    }
}

#[test]
fn manifest_conforms_to_the_v1_24_teams_schema() {
    let m = manifest();
    assert_eq!(m["manifestVersion"], "1.24");
    assert_eq!(
        m["$schema"],
        "https://developer.microsoft.com/en-us/json-schemas/teams/v1.24/MicrosoftTeams.schema.json"
    );
    assert_eq!(problems(&m), Vec::<String>::new());
}

#[test]
fn the_schema_check_reports_a_missing_required_field_a_wrong_type_and_an_unknown_field() {
    let m = manifest();

    let mut missing = m.clone();
    missing
        .as_object_mut()
        .expect("the manifest is an object")
        .remove("manifestVersion");
    let errs = problems(&missing);
    assert!(
        errs.iter()
            .any(|e| e.contains("missing required `manifestVersion`")),
        "{errs:?}"
    );

    let mut wrong_type = m.clone();
    wrong_type["bots"] = Value::from(5);
    let errs = problems(&wrong_type);
    assert!(
        errs.iter()
            .any(|e| e.starts_with(".bots:") && e.contains("is not array")),
        "{errs:?}"
    );

    // a misspelt field is not silently ignored: Teams refuses it too.
    let mut typo = m;
    typo["bots"][0]["supportFiles"] = Value::from(true);
    let errs = problems(&typo);
    assert!(
        errs.iter()
            .any(|e| e.contains("undocumented field `supportFiles`")),
        "{errs:?}"
    );
}

#[test]
fn every_app_id_in_the_manifest_is_the_one_placeholder_the_readme_names() {
    let m = manifest();
    assert_eq!(m["id"], PLACEHOLDER_ID);
    assert_eq!(m["bots"][0]["botId"], PLACEHOLDER_ID);
    assert_eq!(m["composeExtensions"][0]["botId"], PLACEHOLDER_ID);
    // resource-specific consent is tied to the bot's app registration.
    assert_eq!(m["webApplicationInfo"]["id"], PLACEHOLDER_ID);
    let resource = m["webApplicationInfo"]["resource"]
        .as_str()
        .expect("resource");
    assert!(resource.starts_with("api://"), "{resource}");
    assert!(
        resource.ends_with(&format!("/{PLACEHOLDER_ID}")),
        "{resource}"
    );
}

#[test]
fn the_bot_offers_new_list_help_in_personal_chat_and_queue_help_in_teams() {
    let m = manifest();
    let bots = m["bots"].as_array().expect("bots");
    assert_eq!(bots.len(), 1);
    let bot = &bots[0];
    let scopes: Vec<&str> = bot["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(scopes, ["personal", "team"]);
    assert_eq!(commands(bot, "personal"), ["new", "list", "help"]);
    assert_eq!(commands(bot, "team"), ["queue", "help"]);
    assert_eq!(bot["supportsFiles"], true, "files in the 1:1 chat");
    assert_eq!(bot["isNotificationOnly"], false);
}

#[test]
fn the_create_ticket_message_action_fetches_its_dialog_from_the_bot() {
    let m = manifest();
    let extensions = m["composeExtensions"]
        .as_array()
        .expect("composeExtensions");
    assert_eq!(extensions.len(), 1);
    let command = extensions[0]["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .find(|c| c["id"] == "createTicket")
        .expect("the createTicket command");
    assert_eq!(command["type"], "action");
    assert_eq!(command["title"], "Create ticket");
    assert_eq!(command["fetchTask"], true);
    let contexts: Vec<&str> = command["context"]
        .as_array()
        .expect("context")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in ["compose", "commandBox", "message"] {
        assert!(contexts.contains(&c), "{c} missing from {contexts:?}");
    }
}

#[test]
fn resource_specific_consent_lets_the_bot_read_every_message_in_channel_threads() {
    let m = manifest();
    let rsc = m["authorization"]["permissions"]["resourceSpecific"]
        .as_array()
        .expect("resourceSpecific permissions");
    assert!(
        rsc.iter()
            .any(|p| p["name"] == "ChannelMessage.Read.Group" && p["type"] == "Application"),
        "{rsc:?}"
    );
}

#[test]
fn team_scope_declares_channel_features_from_manifest_1_25_on() {
    // the schema does not enforce it; Teams does (see the specs' NOTES.md).
    let m = manifest();
    let version = m["manifestVersion"].as_str().expect("manifestVersion");
    let minor: u32 = version
        .strip_prefix("1.")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("manifestVersion {version}"));
    let team_scope = m["bots"][0]["scopes"]
        .as_array()
        .is_some_and(|s| s.contains(&Value::from("team")));
    if minor >= 25 && team_scope {
        assert_eq!(m["supportsChannelFeatures"], "tier1");
    }
}

#[test]
fn both_icons_are_pngs_of_the_sizes_teams_requires() {
    let m = manifest();
    for (field, side) in [("color", 192), ("outline", 32)] {
        let name = m["icons"][field].as_str().expect("an icon file name");
        assert!(!name.contains('/'), "icons sit at the package root: {name}");
        assert_eq!(png_size(&icon(name)), (side, side), "{name}");
    }
}

#[test]
fn the_outline_icon_is_white_on_a_fully_transparent_background() {
    let m = manifest();
    let png = icon(m["icons"]["outline"].as_str().expect("the outline icon"));
    let parts = chunks(&png);
    let ihdr = parts[0].1;
    let (width, height) = (be32(ihdr) as usize, be32(&ihdr[4..]) as usize);
    assert_eq!(ihdr[8], 8, "bit depth");
    assert_eq!(ihdr[9], 6, "colour type: RGBA");
    assert_eq!(ihdr[12], 0, "not interlaced");
    let zlib: Vec<u8> = parts
        .iter()
        .filter(|(kind, _)| kind == b"IDAT")
        .flat_map(|(_, data)| data.iter().copied())
        .collect();
    let pixels = stored_zlib(&zlib);
    let stride = 1 + 4 * width;
    assert_eq!(pixels.len(), stride * height, "the image data's length");
    let (mut shape, mut clear) = (0, 0);
    for (y, row) in pixels.chunks(stride).enumerate() {
        assert_eq!(row[0], 0, "row {y}: filter type None, so bytes are pixels");
        for (x, px) in row[1..].chunks(4).enumerate() {
            let white = px[..3] == [255, 255, 255];
            assert!(
                white || px[3] == 0,
                "pixel ({x}, {y}) is {px:?}: neither white nor fully transparent"
            );
            match px[3] {
                0 => clear += 1,
                255 => shape += 1,
                _ => {}
            }
        }
    }
    assert!(
        shape > 0 && clear > 0,
        "{shape} opaque, {clear} transparent"
    );
}
