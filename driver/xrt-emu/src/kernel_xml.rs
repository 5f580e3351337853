//! The kernel description in an xclbin's EMBEDDED_METADATA: the RTL
//! kernel's control-port window and its arguments (offset, size, global or
//! scalar), as Vitis' kernel.xml gives them.

/// One kernel argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub name: String,
    /// Byte offset of the (low) register.
    pub offset: u32,
    /// 4 or 8 bytes.
    pub size: u32,
    /// A device pointer (addressQualifier 1), passed as a buffer handle.
    pub global: bool,
}

/// A kernel as its XML describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelInfo {
    pub name: String,
    /// Size of the control-port register window in bytes.
    pub window: u32,
    /// Arguments by index (the `id` attribute).
    pub args: Vec<Arg>,
}

fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Parses the first `<kernel>` of `xml`.
pub fn parse(xml: &str) -> Result<KernelInfo, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("kernel XML: {e}"))?;
    let kernel = doc
        .descendants()
        .find(|n| n.has_tag_name("kernel"))
        .ok_or("kernel XML has no <kernel> element")?;
    let attr = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<String, String> {
        node.attribute(name)
            .map(str::to_string)
            .ok_or_else(|| format!("kernel XML: <{}> lacks `{name}`", node.tag_name().name()))
    };
    let num = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<u64, String> {
        let text = attr(node, name)?;
        number(&text).ok_or_else(|| format!("kernel XML: `{name}=\"{text}\"` is not a number"))
    };
    let name = attr(kernel, "name")?;
    let control = kernel
        .descendants()
        .find(|n| n.has_tag_name("port") && n.attribute("mode") == Some("slave"))
        .ok_or("kernel XML has no slave (control) port")?;
    let window = u32::try_from(num(control, "range")?)
        .map_err(|_| "kernel XML: the control port's range exceeds 4 GiB".to_string())?;
    let mut args: Vec<(u64, Arg)> = Vec::new();
    for node in kernel.descendants().filter(|n| n.has_tag_name("arg")) {
        let arg_name = attr(node, "name")?;
        let id = num(node, "id")?;
        let offset = num(node, "offset")?;
        let size = num(node, "size")?;
        let global = match num(node, "addressQualifier")? {
            0 => false,
            1 => true,
            q => {
                return Err(format!(
                    "kernel XML: argument `{arg_name}` has addressQualifier {q}; the emulation knows scalars (0) and globals (1)"
                ))
            }
        };
        let fits = offset.is_multiple_of(4)
            && matches!(size, 4 | 8)
            && (!global || size == 8)
            && offset + size <= u64::from(window);
        if !fits {
            return Err(format!(
                "kernel XML: argument `{arg_name}` at offset {offset:#x} of {size} bytes does not fit the {window:#x}-byte window as a 32-bit-aligned 4- or 8-byte register"
            ));
        }
        args.push((
            id,
            Arg {
                name: arg_name,
                offset: offset as u32,
                size: size as u32,
                global,
            },
        ));
    }
    args.sort_by_key(|&(id, _)| id);
    for (i, (id, arg)) in args.iter().enumerate() {
        if *id != i as u64 {
            return Err(format!(
                "kernel XML: argument `{}` has id {id}; ids must run 0, 1, 2, ...",
                arg.name
            ));
        }
    }
    Ok(KernelInfo {
        name,
        window,
        args: args.into_iter().map(|(_, a)| a).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kilns_kernel_xml_gives_every_argument() {
        let map = kiln_spec::RegisterMap::builtin().unwrap();
        let xml = kiln_spec::regs::render_kernel_xml(&map, "kiln_kernel");
        let info = parse(&xml).unwrap();
        assert_eq!(info.name, "kiln_kernel");
        assert_eq!(info.window, map.window_bytes);
        let want = map.kernel_args();
        assert_eq!(info.args.len(), want.len());
        for (got, want) in info.args.iter().zip(&want) {
            assert_eq!(got.name, want.name);
            assert_eq!(got.offset, want.offset);
            assert_eq!(got.size, want.size);
            assert_eq!(got.global, want.pointer);
        }
    }

    #[test]
    fn bad_xml_is_refused_with_a_reason() {
        assert!(parse("<root>").unwrap_err().contains("kernel XML"));
        assert!(parse("<root/>").unwrap_err().contains("no <kernel>"));
        let xml = r#"<root><kernel name="k"><ports><port name="c" mode="slave" range="0x20"/></ports>
            <args><arg name="x" addressQualifier="0" id="0" size="0x4" offset="0x1e"/></args></kernel></root>"#;
        assert!(parse(xml).unwrap_err().contains("does not fit"));
        let xml = r#"<root><kernel name="k"><ports><port name="c" mode="slave" range="0x20"/></ports>
            <args><arg name="x" addressQualifier="0" id="1" size="0x4" offset="0x10"/></args></kernel></root>"#;
        assert!(parse(xml).unwrap_err().contains("ids must run"));
    }
}
