//! `subnet`: address and mask arithmetic, shown.

use super::*;

pub(super) fn subnet_cmd(a: SubnetPlan) -> Result<bool> {
    use crate::subnet::{self, render};
    let json = a.json;
    let mut out = stdout();
    match a.query {
        Query::Info(n) => render::write_info(&mut out, n, json)?,
        Query::Same(x, y) => render::write_same(&mut out, &subnet::same(x, y), json)?,
        Query::Hosts(n, h) => {
            let (allocs, left) = subnet::vlsm(n, &h)?;
            let title = format!("{n} by hosts needed (VLSM, largest first):");
            render::write_blocks(&mut out, &title, &render::allocs_to_blocks(&allocs), &left, json)?;
        }
        Query::Prefix(n, p) => {
            let blocks = subnet::split_prefix(n, p)?;
            let title =
                format!("{n} in {} blocks of /{p} ({} addresses each):", blocks.len(), 1u64 << (32 - u32::from(p)));
            let rows: Vec<_> = blocks.into_iter().map(|b| (b, None)).collect();
            render::write_blocks(&mut out, &title, &rows, &[], json)?;
        }
        Query::Summarize(parsed) => {
            let (cover, exact) = subnet::summarize(&parsed)?;
            if json {
                let e: Vec<String> = exact.iter().map(|n| n.to_string()).collect();
                serde_json::to_writer(&mut out, &serde_json::json!({ "covering": cover.to_string(), "exact": e }))?;
                writeln!(out)?;
            } else {
                writeln!(out, "Smallest single block covering them: {cover} ({} addresses)", cover.size())?;
                let rows: Vec<_> = exact.into_iter().map(|b| (b, None)).collect();
                render::write_blocks(&mut out, "Exactly the same addresses, in the fewest blocks:", &rows, &[], false)?;
            }
        }
        Query::Range { text, first, last } => {
            let blocks = subnet::range_to_cidrs(first, last);
            let title = format!(
                "{text} ({} addresses) as {} CIDR blocks:",
                u64::from(last) - u64::from(first) + 1,
                blocks.len()
            );
            let rows: Vec<_> = blocks.into_iter().map(|b| (b, None)).collect();
            render::write_blocks(&mut out, &title, &rows, &[], json)?;
        }
    }
    out.flush()?;
    Ok(true)
}
