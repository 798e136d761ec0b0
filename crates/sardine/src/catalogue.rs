//! The item catalogue: SARDINE's item embeddings, generated as its generator draws them or
//! read from one of its `.npy` files.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use recsim_core::{stream, ConfigError, SimRng, StreamId};

/// Item embeddings, `num_items × num_topics`, row-major, in `[0, 1]`: of unit length where
/// generated (SARDINE's files are too; a file's rows are taken as they are).
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    /// The embeddings, row-major.
    pub embeddings: Vec<f64>,
    /// Topics per item.
    pub num_topics: usize,
}

/// A refusal of SARDINE's worlds, with the reason.
pub fn refuse(why: String) -> ConfigError {
    ConfigError::World {
        world: "SARDINE",
        why,
    }
}

impl Catalogue {
    /// SARDINE's generator (`_init_item_embeddings` without a file): each item uniform
    /// over `[0, 1)` in 2 or 3 topics (equally likely) and 0 in the others, scaled to unit
    /// length; drawn from `seed`'s stream, where SARDINE uses numpy's global generator.
    pub fn generate(num_items: usize, num_topics: usize, seed: u64) -> Self {
        // The documents' stream of the seed: the catalogue is the world's documents.
        let mut rng: SimRng = stream(seed, StreamId::Documents);
        let mut embeddings = vec![0.0; num_items * num_topics];
        let mut topics: Vec<usize> = (0..num_topics).collect();
        for row in embeddings.chunks_exact_mut(num_topics) {
            let on = rng.random_range(2..4).min(num_topics);
            topics.shuffle(&mut rng);
            for &topic in &topics[..on] {
                row[topic] = rng.random::<f64>();
            }
            normalize(row);
        }
        Self {
            embeddings,
            num_topics,
        }
    }

    /// Reads a `num_items × num_topics` array of `float32` or `float64` in `[0, 1]` from a
    /// `.npy` file (SARDINE's own files are such), checking that it is one.
    pub fn load_npy(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path)
            .map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))?;
        let (embeddings, rows, cols) = parse_npy(&bytes).map_err(|why| {
            refuse(format!(
                "{} is not a 2-D float .npy array: {why}",
                path.display()
            ))
        })?;
        if rows == 0 || cols == 0 {
            return Err(refuse(format!("{} holds no item", path.display())));
        }
        if let Some(bad) = embeddings.iter().position(|x| !(0.0..=1.0).contains(x)) {
            return Err(refuse(format!(
                "{}: element {bad} is {}, not a number in [0, 1] as SARDINE's embeddings are",
                path.display(),
                embeddings[bad]
            )));
        }
        if let Some(row) = embeddings
            .chunks_exact(cols)
            .position(|r| r.iter().all(|&x| x == 0.0))
        {
            return Err(refuse(format!(
                "{}: item {row} is all zeros, so it has no main topic",
                path.display()
            )));
        }
        Ok(Self {
            embeddings,
            num_topics: cols,
        })
    }

    /// Items in the catalogue.
    pub fn num_items(&self) -> usize {
        self.embeddings.len() / self.num_topics
    }
}

/// Scales `row` to unit length (a zero row stays zero).
pub(crate) fn normalize(row: &mut [f64]) {
    let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The elements, rows and columns of a little-endian 2-D C-order float array in numpy's
/// `.npy` format (versions 1 to 3).
fn parse_npy(bytes: &[u8]) -> Result<(Vec<f64>, usize, usize), String> {
    let rest = bytes
        .strip_prefix(b"\x93NUMPY")
        .ok_or("no .npy magic number")?;
    let (&major, rest) = rest.split_first().ok_or("truncated header")?;
    let rest = rest.get(1..).ok_or("truncated header")?;
    let (len, rest) = match major {
        1 => {
            let b = rest.get(..2).ok_or("truncated header")?;
            (u16::from_le_bytes([b[0], b[1]]) as usize, &rest[2..])
        }
        2 | 3 => {
            let b = rest.get(..4).ok_or("truncated header")?;
            (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                &rest[4..],
            )
        }
        v => return Err(format!("unknown .npy version {v}")),
    };
    let header = std::str::from_utf8(rest.get(..len).ok_or("truncated header")?)
        .map_err(|_| "the header is not text")?;
    let data = &rest[len..];
    let field = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}':"))
            .ok_or_else(|| format!("no '{key}' in the header"))?;
        Ok(header[at + key.len() + 3..].trim_start())
    };
    let width = match field("descr")? {
        d if d.starts_with("'<f4'") => 4,
        d if d.starts_with("'<f8'") => 8,
        d => {
            let d = d.split(',').next().unwrap_or(d);
            return Err(format!("elements of type {d}, not <f4 or <f8"));
        }
    };
    if !field("fortran_order")?.starts_with("False") {
        return Err("Fortran order".into());
    }
    let shape = field("shape")?;
    let shape = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("a malformed shape")?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| format!("a malformed shape ({shape})"))
        })
        .collect::<Result<_, _>>()?;
    let [rows, cols] = dims[..] else {
        return Err(format!("{} dimensions, not 2", dims.len()));
    };
    let count = rows.checked_mul(cols).ok_or("an absurd shape")?;
    if data.len() != count.checked_mul(width).ok_or("an absurd shape")? {
        return Err(format!(
            "{} bytes of data for {rows} × {cols} elements of {width} bytes",
            data.len()
        ));
    }
    let values = if width == 4 {
        data.chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect()
    };
    Ok((values, rows, cols))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_numpy_float_arrays_and_refuses_others() {
        let data: Vec<u8> = [0.6f32, 0.8, 1.0, 0.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let (values, rows, cols) = parse_npy(&npy("<f4", "(2, 2)", &data)).unwrap();
        assert_eq!((rows, cols), (2, 2));
        assert_eq!(values, [0.6f32 as f64, 0.8f32 as f64, 1.0, 0.0]);
        let wide: Vec<u8> = [0.5f64, 0.25]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            parse_npy(&npy("<f8", "(1, 2)", &wide)).unwrap(),
            (vec![0.5, 0.25], 1, 2)
        );
        for (bytes, why) in [
            (npy("<i8", "(1, 2)", &wide), "elements of type '<i8'"),
            (npy("<f8", "(2,)", &wide), "1 dimensions"),
            (npy("<f8", "(2, 2)", &wide), "16 bytes of data for 2 × 2"),
            (b"PK\x03\x04".to_vec(), "magic"),
        ] {
            let e = parse_npy(&bytes).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn generated_items_have_two_or_three_topics_and_unit_length() {
        let c = Catalogue::generate(500, 10, 7);
        let mut counts = [0u32; 11];
        for row in c.embeddings.chunks_exact(10) {
            let norm: f64 = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
            counts[row.iter().filter(|&&x| x > 0.0).count()] += 1;
        }
        assert_eq!(counts[2] + counts[3], 500, "{counts:?}");
        // Two or three topics, equally likely: 250 ± 3 binomial sds (11.2) each.
        assert!(counts[2].abs_diff(250) < 34, "{counts:?}");
        assert_eq!(c, Catalogue::generate(500, 10, 7), "seeded");
        assert_ne!(c, Catalogue::generate(500, 10, 8));
    }
}
