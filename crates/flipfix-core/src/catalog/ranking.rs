//! Ranking machines for a review card's menu: the names closest to what the
//! model said first, then the machines the conversation mentions, then the
//! rest. Numbers are compared as words, so "8 ball deluxe" finds "Eight Ball
//! Deluxe Limited Edition".

use super::Machine;

/// Machines a menu offers at most besides "Other…" (Discord allows 25 options).
pub const MENU_MACHINES: usize = 24;

/// Scores at or above this count as "close" (the first group).
const CLOSE: f64 = 1.0;

/// Up to `limit` machines for the menu, best first: close names to `hint`
/// (by score), then `mentioned` (in order), then the rest by score and name.
pub fn rank_for_menu<'a>(
    machines: &'a [Machine],
    hint: Option<&str>,
    mentioned: &[i64],
    limit: usize,
) -> Vec<&'a Machine> {
    let query = hint.map(words).unwrap_or_default();
    let mut scored: Vec<(f64, &Machine)> = machines.iter().map(|m| (score(&query, m), m)).collect();
    scored.sort_by(|(a, ma), (b, mb)| b.total_cmp(a).then_with(|| ma.name.cmp(&mb.name)));
    let mut ranked: Vec<&Machine> = scored
        .iter()
        .filter(|(s, _)| *s >= CLOSE)
        .map(|(_, m)| *m)
        .collect();
    for id in mentioned {
        if let Some(machine) = machines.iter().find(|m| m.id == *id) {
            if !ranked.iter().any(|r| r.id == machine.id) {
                ranked.push(machine);
            }
        }
    }
    for (_, machine) in &scored {
        if !ranked.iter().any(|r| r.id == machine.id) {
            ranked.push(machine);
        }
    }
    ranked.truncate(limit);
    ranked
}

/// The machines named in `texts` (whole words, any of a machine's names),
/// in order of first mention.
pub fn mentioned_in<'a>(
    machines: &[Machine],
    texts: impl IntoIterator<Item = &'a str>,
) -> Vec<i64> {
    let mut found: Vec<(usize, usize, i64)> = Vec::new(); // (text, offset, id)
    let texts: Vec<String> = texts
        .into_iter()
        .map(|t| format!(" {} ", words(t).join(" ")))
        .collect();
    for machine in machines {
        let first = names(machine)
            .map(|n| words(n).join(" "))
            .filter(|phrase| phrase.len() >= 3)
            .filter_map(|phrase| {
                let needle = format!(" {phrase} ");
                texts
                    .iter()
                    .enumerate()
                    .find_map(|(i, text)| text.find(&needle).map(|at| (i, at)))
            })
            .min();
        if let Some((text, at)) = first {
            found.push((text, at, machine.id));
        }
    }
    found.sort_unstable();
    found.into_iter().map(|(_, _, id)| id).collect()
}

fn names(machine: &Machine) -> impl Iterator<Item = &String> {
    std::iter::once(&machine.name)
        .chain(machine.short_name.iter())
        .chain(machine.aliases.iter())
        .chain(std::iter::once(&machine.slug))
}

/// How close `machine` is to the query words: the best of its names.
/// Containment (all of one inside the other) and shared words count most;
/// Jaro-Winkler over the joined words breaks ties and catches typos.
fn score(query: &[String], machine: &Machine) -> f64 {
    if query.is_empty() {
        return 0.0;
    }
    let joined = query.concat();
    names(machine)
        .map(|name| {
            let name_words = words(name);
            let key = name_words.concat();
            if key.is_empty() {
                return 0.0;
            }
            let contains = key.contains(&joined) || joined.contains(&key);
            let shared =
                query.iter().filter(|w| name_words.contains(w)).count() as f64 / query.len() as f64;
            strsim::jaro_winkler(&joined, &key) + shared + if contains { 1.0 } else { 0.0 }
        })
        .fold(0.0, f64::max)
}

/// Lower-case ASCII words, numbers spelled out ("8-Ball" → ["eight", "ball"]).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The slug folds accents and case and drops punctuation, as the
    // catalog's own slugs do.
    for word in crate::text::slugify(text).split('-') {
        let mut rest = word;
        while let Some(first) = rest.chars().next() {
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (part, tail) = rest.split_at(end);
            match digits.then(|| number_word(part)).flatten() {
                Some(spelled) => out.extend(spelled.split(' ').map(str::to_string)),
                None => out.push(part.to_string()),
            }
            rest = tail;
        }
    }
    out
}

/// 0–99 in words; larger numbers stay digits.
fn number_word(digits: &str) -> Option<String> {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 10] = [
        "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    let n: usize = digits.parse().ok()?;
    match n {
        0..=19 => Some(SMALL[n].to_string()),
        20..=99 if n.is_multiple_of(10) => Some(TENS[n / 10].to_string()),
        20..=99 => Some(format!("{} {}", TENS[n / 10], SMALL[n % 10])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: i64, name: &str) -> Machine {
        Machine {
            id,
            slug: crate::text::slugify(name),
            name: name.into(),
            short_name: None,
            aliases: Vec::new(),
            status: "good".into(),
            location: None,
        }
    }

    fn catalog() -> Vec<Machine> {
        [
            "Baseball",
            "Eight Ball Deluxe Limited Edition",
            "Gorgar",
            "Space Cadet 3D",
            "Star Trek",
            "Star Trip",
            "The Getaway: High Speed II",
        ]
        .iter()
        .enumerate()
        .map(|(i, name)| machine(i as i64 + 1, name))
        .collect()
    }

    #[test]
    fn numbers_are_spelled_out() {
        assert_eq!(words("8 ball deluxe"), ["eight", "ball", "deluxe"]);
        assert_eq!(words("8-Ball"), ["eight", "ball"]);
        assert_eq!(words("Space Cadet 3D"), ["space", "cadet", "three", "d"]);
        assert_eq!(words("Route 66"), ["route", "sixty", "six"]);
    }

    #[test]
    fn the_closest_name_comes_first() {
        let machines = catalog();
        let ranked = rank_for_menu(&machines, Some("8 ball deluxe"), &[], 24);
        assert_eq!(ranked[0].name, "Eight Ball Deluxe Limited Edition");
        assert_eq!(ranked.len(), machines.len(), "the rest fills the menu");
        let ranked = rank_for_menu(&machines, Some("Star Trx"), &[], 2);
        let names: Vec<&str> = ranked.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["Star Trek", "Star Trip"]);
    }

    #[test]
    fn mentioned_machines_follow_the_close_ones() {
        let machines = catalog();
        // Gorgar (3) is mentioned, but Eight Ball is what the model said.
        let ranked = rank_for_menu(&machines, Some("8 ball deluxe"), &[3], 24);
        assert_eq!(ranked[0].id, 2);
        assert_eq!(ranked[1].id, 3, "{ranked:?}");
        // Without a hint the mentioned machines lead.
        let ranked = rank_for_menu(&machines, None, &[6, 3], 3);
        let ids: Vec<i64> = ranked.iter().map(|m| m.id).collect();
        assert_eq!(ids, [6, 3, 1]);
    }

    #[test]
    fn mentions_are_whole_words_in_order() {
        let machines = catalog();
        let texts = [
            "star trip needs rubbers; gorgar too",
            "the 8 ball deluxe limited edition is fine, baseballs are not machines",
        ];
        assert_eq!(mentioned_in(&machines, texts), vec![6, 3, 2]);
    }
}
