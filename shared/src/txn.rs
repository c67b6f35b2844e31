//! Transactions in a partition's batches (KIP-98): which a run of batches (a segment) aborts, which
//! it leaves open, and each producer's first marker in it — what ends a transaction an earlier
//! segment left open (its records up to that marker are aborted or committed with it). The first
//! part of the transaction index (issue 12): derived from the batches here; nothing stores it yet.

use std::collections::BTreeMap;

use crate::kafka::{BatchHeader, ControlType, KafkaError, Record};

/// A transaction of `producer_id` that was aborted: a `read_committed` consumer skips that
/// producer's records in `first_offset..=last_offset` (the last is the ABORT marker's offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer.
    pub producer_id: i64,
    /// The first offset of its transaction's first batch.
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
}

/// A transaction the batches leave open: no marker ends it within them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTxn {
    /// The producer.
    pub producer_id: i64,
    /// The first offset of its transaction's first batch.
    pub first_offset: i64,
}

/// A producer's first transaction marker in the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstMarker {
    /// The producer.
    pub producer_id: i64,
    /// The marker's offset.
    pub marker_offset: i64,
    /// Whether it aborts (else it commits).
    pub aborted: bool,
}

/// What a run of batches says about transactions, each list in offset order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnFacts {
    /// Transactions begun and aborted within the run.
    pub aborted: Vec<AbortedTxn>,
    /// Transactions begun within the run and not ended in it.
    pub open: Vec<OpenTxn>,
    /// Each producer's first marker in the run: it ends the transaction an earlier run left open
    /// for that producer, if any.
    pub first_markers: Vec<FirstMarker>,
}

/// Follows a partition's batches in offset order.
#[derive(Debug, Default)]
pub struct TxnTracker {
    /// Producer id → first offset of its open transaction.
    open: BTreeMap<i64, i64>,
    facts: TxnFacts,
}

impl TxnTracker {
    /// Takes the next batch (`header`) and, for a control batch, its records; the records of
    /// other batches are not looked at. A control record that is not a valid marker is an error.
    pub fn batch(&mut self, header: &BatchHeader, records: &[Record]) -> Result<(), KafkaError> {
        if !header.is_transactional() {
            return Ok(());
        }
        let producer_id = header.producer_id;
        if !header.is_control() {
            self.open.entry(producer_id).or_insert(header.base_offset);
            return Ok(());
        }
        for record in records {
            let aborted = match ControlType::of(record)? {
                ControlType::Abort => true,
                ControlType::Commit => false,
                ControlType::Other(_) => continue,
            };
            if !self
                .facts
                .first_markers
                .iter()
                .any(|m| m.producer_id == producer_id)
            {
                self.facts.first_markers.push(FirstMarker {
                    producer_id,
                    marker_offset: record.offset,
                    aborted,
                });
            }
            if let Some(first_offset) = self.open.remove(&producer_id)
                && aborted
            {
                self.facts.aborted.push(AbortedTxn {
                    producer_id,
                    first_offset,
                    last_offset: record.offset,
                });
            }
        }
        Ok(())
    }

    /// The facts of every batch taken.
    pub fn finish(self) -> TxnFacts {
        let mut facts = self.facts;
        facts.open = self
            .open
            .into_iter()
            .map(|(producer_id, first_offset)| OpenTxn {
                producer_id,
                first_offset,
            })
            .collect();
        facts.open.sort_by_key(|t| t.first_offset);
        facts.aborted.sort_by_key(|t| t.first_offset);
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{BatchBuilder, Compression, RawBatch, RecordInput};

    /// A partition's log, built batch by batch with consecutive offsets.
    #[derive(Default)]
    struct Log {
        next: i64,
        batches: Vec<Vec<u8>>,
    }

    impl Log {
        fn data(&mut self, producer_id: i64, transactional: bool, records: usize) {
            let mut b = BatchBuilder::new(self.next, Compression::Lz4)
                .producer(producer_id, 0, 0)
                .transactional(transactional);
            for i in 0..records {
                b.push(RecordInput {
                    timestamp: 1_700_000_000_000,
                    key: None,
                    value: Some(format!("p{producer_id}-{i}").into_bytes()),
                    headers: Vec::new(),
                });
            }
            self.batches.push(b.build().unwrap());
            self.next += records as i64;
        }

        fn marker(&mut self, producer_id: i64, kind: ControlType) {
            let mut b = BatchBuilder::new(self.next, Compression::None)
                .producer(producer_id, 0, -1)
                .transactional(true)
                .control(true);
            b.push(RecordInput {
                timestamp: 1_700_000_000_000,
                key: Some(kind.key().to_vec()),
                value: Some(ControlType::value(5).to_vec()),
                headers: Vec::new(),
            });
            self.batches.push(b.build().unwrap());
            self.next += 1;
        }

        /// The facts of batches `range`, read back from their bytes as the indexer would.
        fn facts(&self, range: std::ops::Range<usize>) -> TxnFacts {
            let mut t = TxnTracker::default();
            for bytes in &self.batches[range] {
                let raw = RawBatch::parse(bytes).unwrap();
                raw.verify_crc().unwrap();
                t.batch(raw.header(), &raw.records().unwrap()).unwrap();
            }
            t.finish()
        }
    }

    #[test]
    fn aborted_committed_and_open_transactions_of_interleaved_producers() {
        let mut log = Log::default();
        log.data(1, true, 3); // 0..=2   txn of 1
        log.data(9, false, 2); // 3..=4  not transactional
        log.data(2, true, 2); // 5..=6   txn of 2
        log.data(1, true, 1); // 7       txn of 1 goes on
        log.marker(1, ControlType::Abort); // 8
        log.marker(2, ControlType::Commit); // 9
        log.data(2, true, 2); // 10..=11 a new txn of 2
        log.data(3, true, 1); // 12      txn of 3, open at the end
        log.marker(2, ControlType::Abort); // 13
        assert_eq!(
            log.facts(0..log.batches.len()),
            TxnFacts {
                aborted: vec![
                    AbortedTxn {
                        producer_id: 1,
                        first_offset: 0,
                        last_offset: 8
                    },
                    AbortedTxn {
                        producer_id: 2,
                        first_offset: 10,
                        last_offset: 13
                    },
                ],
                open: vec![OpenTxn {
                    producer_id: 3,
                    first_offset: 12
                }],
                first_markers: [(1, 8, true), (2, 9, false)]
                    .map(|(producer_id, marker_offset, aborted)| FirstMarker {
                        producer_id,
                        marker_offset,
                        aborted,
                    })
                    .to_vec(),
            }
        );
    }

    #[test]
    fn a_transaction_across_two_segments_is_open_in_one_and_ended_in_the_next() {
        let mut log = Log::default();
        log.data(7, true, 4); // 0..=3
        log.data(8, true, 1); // 4
        log.marker(8, ControlType::Commit); // 5
        log.data(7, true, 2); // 6..=7 (second segment from here)
        log.marker(7, ControlType::Abort); // 8
        log.marker(4, ControlType::Commit); // 9: a transaction with no records here
        let first = log.facts(0..3);
        assert!(first.aborted.is_empty());
        let open_7 = OpenTxn {
            producer_id: 7,
            first_offset: 0,
        };
        assert_eq!(first.open, [open_7]);
        let second = log.facts(3..6);
        assert!(second.open.is_empty());
        // Within the second segment 7's records 6..=7 are aborted; its first marker (8, abort)
        // also ends the transaction the first segment left open at 0.
        let aborted_7 = AbortedTxn {
            producer_id: 7,
            first_offset: 6,
            last_offset: 8,
        };
        assert_eq!(second.aborted, [aborted_7]);
        let markers = [(7, 8, true), (4, 9, false)].map(|(producer_id, marker_offset, aborted)| {
            FirstMarker {
                producer_id,
                marker_offset,
                aborted,
            }
        });
        assert_eq!(second.first_markers, markers);
        // Read whole, the same log aborts 7's transaction from its first offset.
        let whole = AbortedTxn {
            first_offset: 0,
            ..aborted_7
        };
        assert_eq!(log.facts(0..6).aborted, [whole]);
    }

    #[test]
    fn markers_are_decoded_by_the_spec_and_bad_ones_are_errors() {
        let record = |key: Option<Vec<u8>>| Record {
            offset: 42,
            timestamp: 0,
            key,
            value: None,
            headers: Vec::new(),
        };
        assert_eq!(
            ControlType::of(&record(Some(vec![0, 0, 0, 0]))).unwrap(),
            ControlType::Abort
        );
        assert_eq!(
            ControlType::of(&record(Some(vec![0, 0, 0, 1]))).unwrap(),
            ControlType::Commit
        );
        assert_eq!(
            ControlType::of(&record(Some(vec![0, 0, 0, 7]))).unwrap(),
            ControlType::Other(7)
        );
        for bad in [None, Some(vec![0, 0, 0]), Some(vec![0, 1, 0, 0])] {
            let err = ControlType::of(&record(bad.clone())).unwrap_err();
            assert!(err.to_string().contains("offset 42"), "{bad:?}: {err}");
        }
        // The hand-built COMMIT marker of the kafka tests (written from the spec, not by us).
        assert_eq!(ControlType::Commit.key(), [0, 0, 0, 1]);
        assert_eq!(ControlType::value(5), [0, 0, 0, 0, 0, 5]);
    }
}
