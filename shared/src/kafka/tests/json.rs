//! A minimal JSON reader for the golden expectation files (the crate has no
//! JSON dependency). Supports what `json.dumps` writes: objects, arrays,
//! strings with escapes, integers, booleans and null.

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Json {
        let mut parser = Parser {
            chars: text.chars().peekable(),
        };
        let value = parser.value();
        parser.skip_whitespace();
        assert!(
            parser.chars.next().is_none(),
            "trailing characters after JSON value"
        );
        value
    }

    /// The member `key` of an object; panics if absent.
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Object(members) => members
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value)
                .unwrap_or_else(|| panic!("missing member {key:?}")),
            other => panic!("expected an object, got {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            Json::Int(value) => *value,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    pub fn bool(&self) -> bool {
        match self {
            Json::Bool(value) => *value,
            other => panic!("expected a boolean, got {other:?}"),
        }
    }

    pub fn str(&self) -> &str {
        match self {
            Json::Str(value) => value,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    pub fn array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            other => panic!("expected an array, got {other:?}"),
        }
    }

    /// A hex string as bytes, or `None` for null.
    pub fn hex_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Json::Null => None,
            Json::Str(hex) => Some(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
                    .collect(),
            ),
            other => panic!("expected hex or null, got {other:?}"),
        }
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while self.chars.next_if(|c| c.is_whitespace()).is_some() {}
    }

    fn expect(&mut self, expected: char) {
        self.skip_whitespace();
        assert_eq!(self.chars.next(), Some(expected));
    }

    fn literal(&mut self, word: &str, value: Json) -> Json {
        for expected in word.chars() {
            assert_eq!(self.chars.next(), Some(expected), "in literal {word}");
        }
        value
    }

    fn value(&mut self) -> Json {
        self.skip_whitespace();
        match self.chars.peek().copied() {
            Some('{') => Json::Object(self.sequence('{', '}', |parser| {
                let key = parser.string();
                parser.expect(':');
                (key, parser.value())
            })),
            Some('[') => Json::Array(self.sequence('[', ']', Parser::value)),
            Some('"') => Json::Str(self.string()),
            Some('n') => self.literal("null", Json::Null),
            Some('t') => self.literal("true", Json::Bool(true)),
            Some('f') => self.literal("false", Json::Bool(false)),
            _ => {
                let mut digits = String::new();
                while let Some(c) = self.chars.next_if(|c| *c == '-' || c.is_ascii_digit()) {
                    digits.push(c);
                }
                Json::Int(digits.parse().expect("an integer"))
            }
        }
    }

    fn sequence<T>(
        &mut self,
        open: char,
        close: char,
        mut item: impl FnMut(&mut Self) -> T,
    ) -> Vec<T> {
        self.expect(open);
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.chars.next_if_eq(&close).is_some() {
            return items;
        }
        loop {
            items.push(item(self));
            self.skip_whitespace();
            match self.chars.next() {
                Some(',') => continue,
                Some(c) if c == close => return items,
                other => panic!("expected ',' or {close:?}, got {other:?}"),
            }
        }
    }

    fn string(&mut self) -> String {
        self.expect('"');
        let mut out = String::new();
        loop {
            match self.chars.next().expect("unterminated string") {
                '"' => return out,
                '\\' => out.push(match self.chars.next().expect("escape") {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'u' => {
                        let code: String = (0..4)
                            .map(|_| self.chars.next().expect("hex digit"))
                            .collect();
                        char::from_u32(u32::from_str_radix(&code, 16).expect("hex"))
                            .expect("BMP char")
                    }
                    other => other, // '"', '\\', '/'
                }),
                c => out.push(c),
            }
        }
    }
}
