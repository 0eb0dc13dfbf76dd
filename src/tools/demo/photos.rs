//! The demo's two photos, drawn here: small PNGs (a playfield with a ball,
//! a wound coil), so the sample needs no image file and no image crate.

/// A playfield: a green gradient, two flippers and a silver ball.
pub fn playfield() -> Vec<u8> {
    draw(240, 320, |x, y| {
        let (fx, fy) = (x as i32, y as i32);
        let ball = (fx - 150).pow(2) + (fy - 150).pow(2) < 14 * 14;
        let left = fy > 260 && fy < 272 && fx > 60 && fx < 110 && (fy - 260) < (fx - 60) / 4 + 6;
        let right = fy > 260 && fy < 272 && fx > 130 && fx < 180 && (fy - 260) < (180 - fx) / 4 + 6;
        if ball {
            [200, 200, 210]
        } else if left || right {
            [240, 240, 240]
        } else {
            [20, (80 + y / 4) as u8, 40]
        }
    })
}

/// A flipper coil: copper windings on a dark bench.
pub fn coil() -> Vec<u8> {
    draw(320, 200, |x, y| {
        let inside = (60..260).contains(&x) && (60..140).contains(&y);
        if inside && (x / 4) % 2 == 0 {
            [184, 115, 51]
        } else if inside {
            [150, 90, 40]
        } else {
            [40, 40, (50 + y / 8) as u8]
        }
    })
}

/// An RGB PNG of `width` × `height` from `pixel(x, y)`; the image data is
/// stored uncompressed (deflate's stored blocks): a few hundred KB at most.
fn draw(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width * 3 + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_photos_are_pngs() {
        for png in [super::playfield(), super::coil()] {
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        }
        // The CRC of "IEND" with no data, as every PNG ends.
        assert_eq!(super::crc32(b"IEND"), 0xAE42_6082);
    }
}
