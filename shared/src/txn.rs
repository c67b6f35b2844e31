//! Transactions in a partition's batches (KIP-98), the transaction index (`docs/FORMATS.md`,
//! "Transaction facts"): which transactions a run of batches (a segment) aborts, which it leaves
//! open, and each producer's first marker in it — what ends a transaction an earlier segment left
//! open (its records up to that marker are aborted or committed with it). [`TxnTracker`] derives a
//! segment's [`TxnFacts`] at index time; [`PartitionTxns::resolve`] joins the facts of a
//! partition's segments into its aborted transactions and last stable offset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kafka::{BatchHeader, ControlType, KafkaError, Record};

/// A transaction of `producer_id` that was aborted: a `read_committed` consumer skips that
/// producer's records in `first_offset..=last_offset` (the last is the ABORT marker's offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    /// The producer.
    pub producer_id: i64,
    /// The first offset of its transaction's first batch.
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
}

/// A transaction the batches leave open: no marker ends it within them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenTxn {
    /// The producer.
    pub producer_id: i64,
    /// The first offset of its transaction's first batch.
    pub first_offset: i64,
}

/// A producer's first transaction marker in the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstMarker {
    /// The producer.
    pub producer_id: i64,
    /// The marker's offset.
    pub marker_offset: i64,
    /// Whether it aborts (else it commits).
    pub aborted: bool,
}

/// What a run of batches says about transactions, each list in offset order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnFacts {
    /// Transactions begun and aborted within the run.
    #[serde(default)]
    pub aborted: Vec<AbortedTxn>,
    /// Transactions begun within the run and not ended in it.
    #[serde(default)]
    pub open: Vec<OpenTxn>,
    /// Each producer's first marker in the run: it ends the transaction an earlier run left open
    /// for that producer, if any.
    #[serde(default)]
    pub first_markers: Vec<FirstMarker>,
}

/// The most transaction facts (aborted and open transactions and first markers together) one
/// segment may carry: with the largest table of contents (~220 KB) they still fit a DynamoDB item
/// (400 KB; a fact takes at most 27 bytes in the item's encoding), and they bound what an entry
/// can make a reader hold. A source whose partition has more is refused; a merge that would make
/// more is not done.
pub const MAX_TXN_FACTS: usize = 4_096;

impl TxnFacts {
    /// Whether there are none (a segment without transactional batches).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many facts there are, of all kinds.
    pub fn len(&self) -> usize {
        self.aborted.len() + self.open.len() + self.first_markers.len()
    }

    /// Checks facts read back from a catalog entry or manifest against the segment's offsets
    /// `base..=last`: every offset within them, `first_offset <= last_offset`, each list in
    /// offset order, at most [`MAX_TXN_FACTS`] in all. The error says what is wrong.
    pub fn validate(&self, base: i64, last: i64) -> Result<(), String> {
        let within = |what: &str, o: i64| {
            if (base..=last).contains(&o) {
                Ok(())
            } else {
                Err(format!(
                    "{what} offset {o} is outside the segment's {base}..={last}"
                ))
            }
        };
        if self.len() > MAX_TXN_FACTS {
            return Err(format!(
                "{} transaction facts, over the limit of {MAX_TXN_FACTS}",
                self.len()
            ));
        }
        let mut prev = i64::MIN;
        for t in &self.aborted {
            within("an aborted transaction's first", t.first_offset)?;
            within("an aborted transaction's last", t.last_offset)?;
            if t.last_offset < t.first_offset || t.first_offset < prev {
                return Err(format!(
                    "aborted transaction {}..={} is out of order",
                    t.first_offset, t.last_offset
                ));
            }
            prev = t.first_offset;
        }
        prev = i64::MIN;
        for t in &self.open {
            within("an open transaction's first", t.first_offset)?;
            if t.first_offset < prev {
                return Err(format!(
                    "open transaction at {} is out of order",
                    t.first_offset
                ));
            }
            prev = t.first_offset;
        }
        for m in &self.first_markers {
            within("a first marker's", m.marker_offset)?;
        }
        Ok(())
    }
}

/// What a partition's segments say about its transactions, as a `read_committed` consumer needs
/// it: every aborted transaction, and the last stable offset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionTxns {
    /// Aborted transactions, by first offset; one left open by a segment and aborted by a later
    /// one's marker spans both (`first_offset` in the earlier, `last_offset` the marker).
    pub aborted: Vec<AbortedTxn>,
    /// Transactions no registered segment ends yet, by first offset.
    pub open: Vec<OpenTxn>,
    /// `reach[i]`: the largest `last_offset` of `aborted[..=i]` (non-decreasing), so a lookup
    /// skips every aborted transaction that ends before it by binary search.
    reach: Vec<i64>,
    /// The first offset that is not stable: the first offset of the earliest open transaction,
    /// else one past the last offset (the high watermark). `read_committed` reads stop here.
    pub last_stable_offset: i64,
}

impl PartitionTxns {
    /// Joins the facts of a partition's segments, given as `(base, last, facts)` in offset order.
    ///
    /// A transaction a segment leaves open is ended by its producer's first marker in a later
    /// segment (aborted or committed with it); until such a segment is registered it is open and
    /// the data from its first offset on is not stable. This assumes what Kafka and Chronik
    /// guarantee: a producer's transaction ends (with a marker, or with the producer fenced by a
    /// marker) before its next begins, and the partition's segments are contiguous up to the
    /// resolving one.
    pub fn resolve<'a>(segments: impl IntoIterator<Item = (i64, i64, &'a TxnFacts)>) -> Self {
        let mut open: BTreeMap<i64, i64> = BTreeMap::new();
        let mut aborted = Vec::new();
        let mut high_watermark = 0;
        for (_, last, facts) in segments {
            // Aborted here and begun in an earlier segment: one transaction, reported once from
            // its first offset (a consumer takes each entry for a transaction of its own).
            let mut continued = Vec::new();
            for m in &facts.first_markers {
                if let Some(first_offset) = open.remove(&m.producer_id)
                    && m.aborted
                {
                    aborted.push(AbortedTxn {
                        producer_id: m.producer_id,
                        first_offset,
                        last_offset: m.marker_offset,
                    });
                    continued.push((m.producer_id, m.marker_offset));
                }
            }
            aborted.extend(
                facts
                    .aborted
                    .iter()
                    .filter(|t| !continued.contains(&(t.producer_id, t.last_offset))),
            );
            for t in &facts.open {
                open.entry(t.producer_id).or_insert(t.first_offset);
            }
            high_watermark = high_watermark.max(last.saturating_add(1));
        }
        aborted.sort_by_key(|t| (t.first_offset, t.producer_id));
        let mut open: Vec<OpenTxn> = open
            .into_iter()
            .map(|(producer_id, first_offset)| OpenTxn {
                producer_id,
                first_offset,
            })
            .collect();
        open.sort_by_key(|t| t.first_offset);
        let last_stable_offset = open.first().map_or(high_watermark, |t| t.first_offset);
        let reach = aborted
            .iter()
            .scan(i64::MIN, |max, t| {
                *max = (*max).max(t.last_offset);
                Some(*max)
            })
            .collect();
        PartitionTxns {
            aborted,
            open,
            reach,
            last_stable_offset,
        }
    }

    /// The aborted transactions with records in `from..=to`, by first offset: what a Kafka fetch
    /// of that range returns, so the consumer can drop them.
    pub fn aborted_within(&self, from: i64, to: i64) -> impl Iterator<Item = &AbortedTxn> {
        let start = self.reach.partition_point(|&reach| reach < from);
        self.aborted[start.min(self.aborted.len())..]
            .iter()
            .take_while(move |t| t.first_offset <= to)
            .filter(move |t| t.last_offset >= from)
    }
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
    use crate::kafka::RawBatch;
    use crate::testing::TxnLog as Log;

    impl Log {
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

    /// `(base, last, facts)` of each segment `ranges` cuts the log into.
    fn segments(log: &Log, cuts: &[usize]) -> Vec<(i64, i64, TxnFacts)> {
        let offsets: Vec<(i64, i64)> = log
            .batches
            .iter()
            .map(|b| {
                let h = *RawBatch::parse(b).unwrap().header();
                (h.base_offset, h.last_offset())
            })
            .collect();
        let mut out = Vec::new();
        let mut from = 0;
        for &to in cuts.iter().chain([log.batches.len()].iter()) {
            out.push((offsets[from].0, offsets[to - 1].1, log.facts(from..to)));
            from = to;
        }
        out
    }

    fn resolve(segments: &[(i64, i64, TxnFacts)]) -> PartitionTxns {
        PartitionTxns::resolve(segments.iter().map(|(b, l, f)| (*b, *l, f)))
    }

    #[test]
    fn a_partition_resolves_to_the_same_transactions_however_it_is_cut_into_segments() {
        let mut log = Log::default();
        log.data(7, true, 4); // 0..=3
        log.data(1, false, 2); // 4..=5
        log.data(8, true, 1); // 6
        log.marker(8, ControlType::Commit); // 7
        log.data(7, true, 2); // 8..=9
        log.marker(7, ControlType::Abort); // 10
        log.data(7, true, 1); // 11
        log.data(9, true, 3); // 12..=14
        log.marker(7, ControlType::Commit); // 15
        log.marker(9, ControlType::Abort); // 16
        let whole = resolve(&segments(&log, &[]));
        assert_eq!(
            whole.aborted,
            [
                AbortedTxn {
                    producer_id: 7,
                    first_offset: 0,
                    last_offset: 10
                },
                AbortedTxn {
                    producer_id: 9,
                    first_offset: 12,
                    last_offset: 16
                },
            ]
        );
        assert!(whole.open.is_empty());
        assert_eq!(whole.last_stable_offset, 17);
        for cuts in [
            &[1][..],
            &[2, 5],
            &[4],
            &[5, 6],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        ] {
            assert_eq!(resolve(&segments(&log, cuts)), whole, "cut at {cuts:?}");
        }
        // Until the segment with 7's abort marker is registered, 7's data from 0 is not stable.
        let early = segments(&log, &[4]);
        let first_only = resolve(&early[..1]);
        assert_eq!(first_only.last_stable_offset, 0);
        assert_eq!(
            first_only.open,
            [OpenTxn {
                producer_id: 7,
                first_offset: 0
            }]
        );
        assert!(first_only.aborted.is_empty());
        // A fetch of 11..=13 sees the transaction of 9 only; 5..=8 sees 7's.
        let ids = |from, to| {
            whole
                .aborted_within(from, to)
                .map(|t| t.producer_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(11, 13), [9]);
        assert_eq!(ids(5, 8), [7]);
        assert_eq!(ids(0, 16), [7, 9]);
        assert!(ids(17, 20).is_empty());
    }

    #[test]
    fn facts_read_back_are_checked_against_their_segment() {
        let mut log = Log::default();
        log.data(7, true, 4);
        log.marker(7, ControlType::Abort);
        let facts = log.facts(0..2);
        assert_eq!(facts.validate(0, 4), Ok(()));
        assert!(facts.validate(1, 4).unwrap_err().contains("outside"));
        let mut swapped = facts.clone();
        swapped.aborted[0] = AbortedTxn {
            first_offset: 4,
            last_offset: 0,
            ..facts.aborted[0]
        };
        assert!(swapped.validate(0, 4).unwrap_err().contains("out of order"));
        let json = serde_json::to_string(&facts).unwrap();
        assert_eq!(serde_json::from_str::<TxnFacts>(&json).unwrap(), facts);
        assert_eq!(
            serde_json::from_str::<TxnFacts>("{}").unwrap(),
            TxnFacts::default()
        );
        assert!(TxnFacts::default().is_empty());
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
