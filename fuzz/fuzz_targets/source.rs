//! Source detection and reading as the indexer does it: tier WAL, Chronik WAL or a Kafka `.log`,
//! grouped by partition; plus the object-key/path parsers that name a source's partition.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::source::{path_partition, read_source};
use tier::types::{Partition, Topic, TopicPartition};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = path_partition(text);
    }
    let topic = Topic::try_from("fuzz".to_owned());
    let partition = Partition::try_from(0_i64);
    if let (Ok(topic), Ok(partition)) = (topic, partition) {
        let tp = TopicPartition::new(topic, partition);
        let _ = read_source(data, Some(&tp));
    }
    let _ = read_source(data, None);
});
