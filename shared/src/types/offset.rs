use std::fmt;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// A Kafka offset: a non-negative `i64`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Offset(i64);

impl Offset {
    /// Offset zero.
    pub const ZERO: Offset = Offset(0);

    /// The raw value, always `>= 0`.
    pub fn get(self) -> i64 {
        self.0
    }

    /// The offset after this one; saturates at `i64::MAX`.
    pub fn next(self) -> Offset {
        Offset(self.0.saturating_add(1))
    }

    /// The 20-digit zero-padded form used in object keys and catalog sort keys, so that lexicographic
    /// order equals numeric order.
    pub fn padded(self) -> String {
        format!("{:020}", self.0)
    }
}

impl TryFrom<i64> for Offset {
    type Error = InvalidValue;
    fn try_from(n: i64) -> Result<Self, InvalidValue> {
        if n < 0 {
            return Err(InvalidValue::new(
                "offset",
                &n.to_string(),
                "must not be negative",
            ));
        }
        Ok(Offset(n))
    }
}

impl From<Offset> for i64 {
    fn from(o: Offset) -> i64 {
        o.0
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_order_is_numeric_order() {
        let a = Offset::try_from(9).unwrap();
        let b = Offset::try_from(10).unwrap();
        assert!(a.padded() < b.padded());
        assert_eq!(a.padded().len(), 20);
        assert_eq!(Offset::try_from(i64::MAX).unwrap().padded().len(), 20);
        assert!(Offset::try_from(-1).is_err());
    }
}
