//! [`TxnLog`]: a partition's log built batch by batch — data batches of producers, transactional
//! or not, and transaction markers — as real Kafka batches with consecutive offsets.

use crate::kafka::{BatchBuilder, Compression, ControlType, RecordInput};

/// A partition's log, built batch by batch with consecutive offsets from 0.
#[derive(Debug, Default)]
pub struct TxnLog {
    /// The offset of the next record.
    pub next: i64,
    /// The batches so far, each as its bytes.
    pub batches: Vec<Vec<u8>>,
}

impl TxnLog {
    /// Appends a zstd batch of `records` records of `producer_id`.
    pub fn data(&mut self, producer_id: i64, transactional: bool, records: usize) {
        let mut b = BatchBuilder::new(self.next, Compression::Zstd)
            .producer(producer_id, 0, 0)
            .transactional(transactional);
        for i in 0..records {
            b.push(RecordInput {
                timestamp: 1_700_000_000_000 + self.next * 1_000 + i as i64,
                key: Some(format!("k{i}").into_bytes()),
                value: Some(format!("p{producer_id} #{i}").into_bytes()),
                headers: Vec::new(),
            });
        }
        self.push(b, records);
    }

    /// Appends a control batch with `producer_id`'s marker `kind`.
    pub fn marker(&mut self, producer_id: i64, kind: ControlType) {
        let mut b = BatchBuilder::new(self.next, Compression::None)
            .producer(producer_id, 0, -1)
            .transactional(true)
            .control(true);
        b.push(RecordInput {
            timestamp: 1_700_000_000_000 + self.next * 1_000,
            key: Some(kind.key().to_vec()),
            value: Some(ControlType::value(3).to_vec()),
            headers: Vec::new(),
        });
        self.push(b, 1);
    }

    fn push(&mut self, b: BatchBuilder, records: usize) {
        self.batches
            .push(b.build().expect("a batch of a few small records builds"));
        self.next += records as i64;
    }

    /// Batches `range` concatenated: a Kafka `.log` segment.
    pub fn bytes(&self, range: std::ops::Range<usize>) -> Vec<u8> {
        self.batches[range].concat()
    }
}
