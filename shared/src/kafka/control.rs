//! Control records (KIP-98): the transaction markers a coordinator writes into a partition. A
//! control batch (attribute bit 5) holds one; its key is int16 version + int16 type, its value
//! int16 version + int32 coordinator epoch (`docs/FORMATS.md`, "Control records").

use super::{KafkaError, Record};

/// What a transaction marker says about its producer's open transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// Type 0: the transaction is aborted; a `read_committed` consumer skips its records.
    Abort,
    /// Type 1: the transaction is committed.
    Commit,
    /// Any other type: not a transaction end (consumers ignore such records).
    Other(i16),
}

impl ControlType {
    /// The marker of control record `record`. Errors: a key that is missing, shorter than four
    /// bytes, or of a version other than 0.
    pub fn of(record: &Record) -> Result<ControlType, KafkaError> {
        let bad = |why: &str| {
            KafkaError::MalformedRecord(format!(
                "control record at offset {}: {why}",
                record.offset
            ))
        };
        let key = record.key.as_deref().ok_or_else(|| bad("no key"))?;
        let (Some(version), Some(kind)) = (key.get(0..2), key.get(2..4)) else {
            return Err(bad("a key of fewer than 4 bytes"));
        };
        match i16::from_be_bytes([version[0], version[1]]) {
            0 => {}
            v => return Err(bad(&format!("key version {v}, expected 0"))),
        }
        Ok(match i16::from_be_bytes([kind[0], kind[1]]) {
            0 => ControlType::Abort,
            1 => ControlType::Commit,
            other => ControlType::Other(other),
        })
    }

    /// The key of a marker of this type (version 0).
    pub fn key(self) -> [u8; 4] {
        let kind: i16 = match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
            ControlType::Other(t) => t,
        };
        let mut key = [0; 4];
        key[2..].copy_from_slice(&kind.to_be_bytes());
        key
    }

    /// The value of a marker written by a coordinator of `epoch` (version 0).
    pub fn value(coordinator_epoch: i32) -> [u8; 6] {
        let mut value = [0; 6];
        value[2..].copy_from_slice(&coordinator_epoch.to_be_bytes());
        value
    }
}
