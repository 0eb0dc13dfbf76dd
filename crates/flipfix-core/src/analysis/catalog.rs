//! The machines and maintainers the model is told about, and matching the
//! model's machine answer against them.

use serde::Serialize;
use sqlx::PgPool;

use crate::text::loose_key;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogMachine {
    /// `None` for machines that only exist in a scenario file.
    pub id: Option<i64>,
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogMaintainer {
    pub username: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Catalog {
    pub machines: Vec<CatalogMachine>,
    pub maintainers: Vec<CatalogMaintainer>,
}

impl Catalog {
    pub async fn load(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let machines = crate::catalog::machines::list(pool)
            .await?
            .into_iter()
            .map(|m| CatalogMachine {
                id: Some(m.id),
                slug: m.slug,
                name: m.name,
                short_name: m.short_name,
                aliases: m.aliases,
            })
            .collect();
        let maintainers = crate::catalog::maintainers::list(pool)
            .await?
            .into_iter()
            .map(|m| CatalogMaintainer {
                username: m.username,
                display_name: m.display_name,
            })
            .collect();
        Ok(Self {
            machines,
            maintainers,
        })
    }

    /// The machine the model meant: slug, name, short name or alias,
    /// compared without case and punctuation.
    pub(crate) fn find_machine(&self, said: &str) -> Option<&CatalogMachine> {
        let key = loose_key(said);
        if key.is_empty() {
            return None;
        }
        self.machines.iter().find(|m| {
            std::iter::once(&m.slug)
                .chain(std::iter::once(&m.name))
                .chain(m.short_name.iter())
                .chain(m.aliases.iter())
                .any(|name| loose_key(name) == key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_match_loosely() {
        let catalog = Catalog {
            machines: vec![CatalogMachine {
                id: None,
                slug: "eight-ball-deluxe-limited-edition".into(),
                name: "Eight Ball Deluxe (Limited Edition)".into(),
                short_name: Some("EBD LE".into()),
                aliases: vec!["8 ball".into()],
            }],
            maintainers: Vec::new(),
        };
        for said in [
            "eight-ball-deluxe-limited-edition",
            "eight ball deluxe limited edition",
            "ebd-le",
            "8 Ball!",
        ] {
            assert!(catalog.find_machine(said).is_some(), "{said}");
        }
        assert!(catalog.find_machine("Gorgar").is_none());
        assert!(catalog.find_machine("  ").is_none());
    }
}
