//! docs/pe-library.md, rendered from hw/ip/pe/data/codebooks.toml.
//!
//! The page is committed; a test fails when it no longer matches the
//! codebooks, and `make docs` rewrites it.

use kiln_spec::{Encoding, PeLibrary};

/// The page for the built-in library.
pub fn render(library: &PeLibrary) -> String {
    let mut s = String::from("# PE library\n\n");
    s.push_str(
        "Generated from `hw/ip/pe/data/codebooks.toml` by `kiln pe docs`; do not edit by hand \
(`make docs` rewrites it, and `make test` fails when it is stale).\n\n",
    );
    let shape = library.port_shape;
    s.push_str(&format!(
        "Every PE has the same ports: `clk_i`, `rst_ni`, `valid_i`, `act_i[{}:0]` (two's \
complement), `wcode_i[weight_bits-1:0]`, and registered outputs `valid_o` and \
`prod_o[{}:0]` (two's complement product).\n\n",
        shape.act_bits - 1,
        shape.product_bits - 1
    ));
    s.push_str("| PE | weight bits | encoding | summary |\n|---|---:|---|---|\n");
    for pe in library.library_pes() {
        let encoding = match pe.encoding {
            Encoding::TwosComplement => "two's complement",
            Encoding::SignMagnitude { .. } => "sign + magnitude table",
            Encoding::Table { .. } => "value per code",
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            pe.name, pe.weight_bits, encoding, pe.summary
        ));
    }
    s.push_str(
        "\n## Codebooks\n\nThe integer each weight code multiplies the activation by. \
The golden product is `act * value`, exactly.\n",
    );
    for pe in library.library_pes() {
        s.push_str(&format!("\n### `{}`\n\n", pe.name));
        match &pe.encoding {
            Encoding::TwosComplement => {
                let half = 1i32 << (pe.weight_bits - 1);
                s.push_str(&format!(
                    "Code `c` is the {}-bit two's-complement integer: values {} to {}.\n",
                    pe.weight_bits,
                    -half,
                    half - 1
                ));
            }
            Encoding::SignMagnitude { .. } | Encoding::Table { .. } => {
                s.push_str("| code | value | code | value |\n|---:|---:|---:|---:|\n");
                let half = pe.code_count() / 2;
                for c in 0..half {
                    s.push_str(&format!(
                        "| `{c:0w$b}` | {} | `{:0w$b}` | {} |\n",
                        pe.weight_value(c),
                        c + half,
                        pe.weight_value(c + half),
                        w = pe.weight_bits as usize
                    ));
                }
            }
        }
    }
    s
}
