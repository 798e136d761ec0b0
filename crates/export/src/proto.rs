//! The few protocol-buffer wire rules an ONNX file needs, written and read by hand: a
//! model of a few layers needs no protobuf compiler or schema crate.

/// A message being written: fields appended in order.
#[derive(Debug, Default, Clone)]
pub struct Message(Vec<u8>);

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Message {
    /// An empty message.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, field: u32, wire: u8) {
        varint(&mut self.0, (u64::from(field) << 3) | u64::from(wire));
    }

    /// A varint field (`int32`, `int64`, `enum`; negative values as ten bytes).
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, 0);
        varint(&mut self.0, v as u64);
        self
    }

    /// A `float` field.
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A length-delimited field: bytes, a string or a nested message.
    pub fn bytes(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, 2);
        varint(&mut self.0, v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    /// A string field.
    pub fn string(self, field: u32, v: &str) -> Self {
        self.bytes(field, v.as_bytes())
    }

    /// A nested message.
    pub fn message(self, field: u32, m: &Message) -> Self {
        self.bytes(field, &m.0)
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// One field read from a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// A varint.
    Int(u64),
    /// Four or eight bytes.
    Fixed(u64),
    /// A length-delimited field.
    Bytes(&'a [u8]),
}

/// The fields of an encoded message, in order; `None` at the end, an error on bytes that
/// are not a message.
pub struct Fields<'a> {
    rest: &'a [u8],
}

/// Reads the fields of `bytes`.
pub fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields { rest: bytes }
}

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .rest
                .split_first()
                .ok_or("the file ends inside a number")?;
            self.rest = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a number longer than ten bytes".into())
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], String> {
        let len = usize::try_from(len).map_err(|_| "a field longer than memory")?;
        if len > self.rest.len() {
            return Err("the file ends inside a field".into());
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let key = self.varint()?;
            let number = u32::try_from(key >> 3).map_err(|_| "a field number out of range")?;
            let value = match key & 7 {
                0 => Value::Int(self.varint()?),
                1 => Value::Fixed(u64::from_le_bytes(self.take(8)?.try_into().expect("8"))),
                2 => {
                    let len = self.varint()?;
                    Value::Bytes(self.take(len)?)
                }
                5 => Value::Fixed(u64::from(u32::from_le_bytes(
                    self.take(4)?.try_into().expect("4"),
                ))),
                wire => return Err(format!("wire type {wire} is not one ONNX uses")),
            };
            Ok((number, value))
        })();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_as_written() {
        let inner = Message::new().string(1, "x").int(2, 300);
        let bytes = Message::new()
            .int(1, -1)
            .float(2, 1.5)
            .message(3, &inner)
            .into_bytes();
        let read: Vec<_> = fields(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(read[0], (1, Value::Int(u64::MAX)));
        assert_eq!(read[1], (2, Value::Fixed(u64::from(1.5f32.to_bits()))));
        let Value::Bytes(nested) = read[2].1 else {
            panic!("a message")
        };
        let nested: Vec<_> = fields(nested).collect::<Result<_, _>>().unwrap();
        assert_eq!(nested, [(1, Value::Bytes(b"x")), (2, Value::Int(300))]);
        // 300 is two bytes: 0xac 0x02.
        assert_eq!(&inner.into_bytes()[3..], [0x10, 0xac, 0x02]);
        for cut in 1..bytes.len() {
            let all: Result<Vec<_>, _> = fields(&bytes[..cut]).collect();
            assert!(all.is_err() || [11, 16].contains(&cut), "cut at {cut}");
        }
    }
}
