//! TensorBoard event files: every run folder holds `events.out.tfevents.rlrec`, one event
//! per iteration with each number of its `metrics.jsonl` line as a scalar, so that
//! `tensorboard --logdir runs/` shows rlrec runs.
//!
//! The file is TensorFlow's record format: each record is its length (u64,
//! little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C
//! of the data. The data is an `Event` protocol buffer (`tensorflow/core/util/event.proto`):
//! the first carries `file_version = "brain.Event:2"`, every other `wall_time`, `step`
//! (the iteration) and a `Summary` of `simple_value` scalars (32-bit floats, as TensorFlow's
//! and tensorboardX's scalar summaries). Only these few fields are written, so they are
//! encoded here by hand rather than through a protobuf code generator.

use serde_json::Value;

/// The event file inside a run folder. TensorBoard reads every file whose name holds
/// `tfevents`; a run has exactly one, rewritten whenever `metrics.jsonl` is cut back.
pub const EVENTS_FILE: &str = "events.out.tfevents.rlrec";

/// Keys of a metrics line that are not plotted: the step itself, and the wall clock the
/// event carries as its `wall_time`.
const NOT_SCALARS: [&str; 2] = ["training_iteration", "timestamp"];

/// The first record of an event file.
pub fn header(wall_time: f64) -> Vec<u8> {
    let mut event = Vec::new();
    double_field(&mut event, 1, wall_time);
    bytes_field(&mut event, 3, b"brain.Event:2");
    record(&event)
}

/// The record of one metrics line (a JSON object with `training_iteration`): every
/// number in it, nested keys joined by `/` (`learner/loss`, `evaluation/ci95/0`).
pub fn iteration_record(line: &Value) -> Vec<u8> {
    let step = line["training_iteration"].as_u64().unwrap_or(0);
    let wall_time = line["timestamp"].as_f64().unwrap_or(0.0);
    let mut scalars = Vec::new();
    if let Value::Object(fields) = line {
        for (key, value) in fields {
            if !NOT_SCALARS.contains(&key.as_str()) {
                flatten(key.clone(), value, &mut scalars);
            }
        }
    }
    let mut summary = Vec::new();
    for (tag, value) in &scalars {
        let mut v = Vec::new();
        bytes_field(&mut v, 1, tag.as_bytes());
        // simple_value: field 2, 32-bit.
        v.push(2 << 3 | 5);
        v.extend_from_slice(&(*value as f32).to_le_bytes());
        bytes_field(&mut summary, 1, &v);
    }
    let mut event = Vec::new();
    double_field(&mut event, 1, wall_time);
    // step: field 2, a varint (int64; iterations are never negative).
    event.push(2 << 3);
    varint(&mut event, step);
    bytes_field(&mut event, 5, &summary);
    record(&event)
}

/// A whole event file for these metrics lines.
pub fn file(lines: &[Value], wall_time: f64) -> Vec<u8> {
    let mut out = header(wall_time);
    for line in lines {
        out.extend(iteration_record(line));
    }
    out
}

/// Every number under `value`, keyed by its path from `prefix`.
fn flatten(prefix: String, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Number(n) => out.extend(n.as_f64().map(|x| (prefix, x))),
        Value::Object(fields) => {
            for (key, v) in fields {
                flatten(format!("{prefix}/{key}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{prefix}/{i}"), v, out);
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// TensorFlow's record framing around `data`.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

/// The record format's masked CRC-32C: rotated right by 15 bits plus a constant, so that
/// a checksum stored inside checksummed data does not checksum to something trivial.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A length-delimited field (wire type 2).
fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A `double` field (wire type 1).
fn double_field(out: &mut Vec<u8>, field: u8, value: f64) {
    out.push(field << 3 | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_and_its_mask_match_the_reference_values() {
        // CRC-32C's check value (RFC 3720, "123456789"); the masked values as TensorBoard's
        // own writer computes them (`pywrap_tensorflow.masked_crc32c` of tensorboard 2.21).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xc78a_b0e5);
        assert_eq!(masked_crc(&3u64.to_le_bytes()), 0x0e49_99b0);
    }

    #[test]
    fn records_frame_their_data_with_checksums() {
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
        assert_eq!(&r[15..], &masked_crc(b"abc").to_le_bytes());
    }

    #[test]
    fn an_iteration_becomes_one_event_of_its_numbers() {
        let line = serde_json::json!({
            "training_iteration": 300, "timestamp": 1.5, "episode_reward_mean": 2.0,
            "episode_reward_min": null, "learner": {"loss": 0.25}, "evaluation": {"ci95": [1.0, 3.0]},
        });
        let r = iteration_record(&line);
        let event = &r[12..r.len() - 4];
        // wall_time, then step 300 as a two-byte varint (0xac 0x02), then the summary.
        assert_eq!(event[0], 0x09);
        assert_eq!(&event[1..9], &1.5f64.to_le_bytes());
        assert_eq!(&event[9..12], &[0x10, 0xac, 0x02]);
        assert_eq!(event[12], 0x2a);
        let text = String::from_utf8_lossy(event);
        for tag in [
            "episode_reward_mean",
            "learner/loss",
            "evaluation/ci95/0",
            "evaluation/ci95/1",
        ] {
            assert!(text.contains(tag), "{tag}");
        }
        assert!(!text.contains("episode_reward_min") && !text.contains("timestamp"));
    }
}
