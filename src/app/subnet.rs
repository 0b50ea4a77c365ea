//! `subnet`: address and mask arithmetic, shown.

use super::*;

pub(super) fn subnet_cmd(a: crate::cli::SubnetArgs) -> Result<bool> {
    use crate::cli::SubnetCommand;
    use crate::subnet::{self, render};
    let json = a.format == StatsFormat::Jsonl;
    let mut out = stdout();
    match a.command {
        None => render::write_info(&mut out, subnet::parse_net(&a.net)?, json)?,
        Some(SubnetCommand::Same { a: ha, b: hb, mask }) => {
            let split = |s: &str| -> Result<(u32, Option<u8>), subnet::SubnetError> {
                match s.split_once('/') {
                    Some((x, m)) => Ok((subnet::parse_addr(x)?, Some(subnet::parse_mask(m)?))),
                    None => Ok((subnet::parse_addr(s)?, None)),
                }
            };
            let ((aa, ap), (ba, bp)) = (split(&ha)?, split(&hb)?);
            let m = mask.as_deref().map(subnet::parse_mask).transpose()?;
            let Some(ap) = ap.or(m) else {
                anyhow::bail!("give A a prefix (A/24) or the shared mask with --mask 255.255.255.0");
            };
            let bp = bp.or(m).unwrap_or(ap);
            let s = subnet::same(subnet::Net { addr: aa, prefix: ap }, subnet::Net { addr: ba, prefix: bp });
            render::write_same(&mut out, &s, json)?;
        }
        Some(SubnetCommand::Split { net, prefix, count, hosts }) => {
            let n = subnet::parse_net(std::slice::from_ref(&net))?;
            let n = subnet::Net { addr: n.network(), prefix: n.prefix };
            if let Some(h) = hosts {
                let (allocs, left) = subnet::vlsm(n, &h)?;
                let title = format!("{n} by hosts needed (VLSM, largest first):");
                render::write_blocks(&mut out, &title, &render::allocs_to_blocks(&allocs), &left, json)?;
            } else {
                let p = match (prefix, count) {
                    (Some(p), _) => subnet::parse_mask(&p)?,
                    (None, Some(c)) => subnet::prefix_for_count(n, c)?,
                    (None, None) => anyhow::bail!("give --prefix, --count or --hosts"),
                };
                let blocks = subnet::split_prefix(n, p)?;
                let title =
                    format!("{n} in {} blocks of /{p} ({} addresses each):", blocks.len(), 1u64 << (32 - u32::from(p)));
                let rows: Vec<_> = blocks.into_iter().map(|b| (b, None)).collect();
                render::write_blocks(&mut out, &title, &rows, &[], json)?;
            }
        }
        Some(SubnetCommand::Summarize { nets }) => {
            let parsed: Vec<subnet::Net> =
                nets.iter().map(|s| subnet::parse_net(std::slice::from_ref(s))).collect::<Result<_, _>>()?;
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
        Some(SubnetCommand::Range { range }) => {
            let Some((x, y)) = range.split_once('-') else {
                anyhow::bail!("'{range}' is not a range: write FIRST-LAST, e.g. 10.0.0.5-10.0.0.20");
            };
            let (first, last) = (subnet::parse_addr(x)?, subnet::parse_addr(y)?);
            if first > last {
                anyhow::bail!("range {range} is backwards: the first address is above the last");
            }
            let blocks = subnet::range_to_cidrs(first, last);
            let title = format!(
                "{range} ({} addresses) as {} CIDR blocks:",
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
