//! Account and service mappings: user data. Written one at a time or, for imports, in one
//! transaction so a bad CSV changes nothing.

use anyhow::Result;
use jiff::Timestamp;
use rusqlite::params;

use super::Store;
use crate::model::{AccountMapping, CompanyTarget, MapSource, ProductTarget, ServiceMapping};

fn source(s: String) -> MapSource {
    MapSource::parse(&s).unwrap_or(MapSource::Manual)
}

fn upsert_account(tx: &rusqlite::Transaction, m: &AccountMapping) -> Result<()> {
    tx.execute(
        "INSERT INTO account_map (vendor_connection, account_id, account_name, psa_connection, psa_company_id, psa_company_name, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (vendor_connection, account_id) DO UPDATE SET
            account_name = excluded.account_name, psa_connection = excluded.psa_connection,
            psa_company_id = excluded.psa_company_id, psa_company_name = excluded.psa_company_name,
            source = excluded.source, created_at = excluded.created_at",
        params![
            m.vendor_connection,
            m.account_id,
            m.account_name,
            m.target.as_ref().map(|t| &t.connection),
            m.target.as_ref().map(|t| &t.company_id),
            m.target.as_ref().map(|t| &t.company_name),
            m.source.as_str(),
            Timestamp::now().to_string()
        ],
    )?;
    Ok(())
}

fn upsert_service(tx: &rusqlite::Transaction, m: &ServiceMapping) -> Result<()> {
    tx.execute(
        "INSERT INTO service_map (vendor_connection, service_key, psa_connection, product_identifier, source, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (vendor_connection, service_key) DO UPDATE SET
            psa_connection = excluded.psa_connection, product_identifier = excluded.product_identifier,
            source = excluded.source, created_at = excluded.created_at",
        params![
            m.vendor_connection,
            m.service_key,
            m.target.as_ref().map(|t| &t.connection),
            m.target.as_ref().map(|t| &t.product_identifier),
            m.source.as_str(),
            Timestamp::now().to_string()
        ],
    )?;
    Ok(())
}

impl Store {
    pub fn account_mappings(&self) -> Result<Vec<AccountMapping>> {
        let mut stmt = self.conn.prepare(
            "SELECT vendor_connection, account_id, account_name, psa_connection, psa_company_id, psa_company_name, source
             FROM account_map ORDER BY vendor_connection, account_name, account_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let conn: Option<String> = r.get(3)?;
                let id: Option<String> = r.get(4)?;
                let name: Option<String> = r.get(5)?;
                Ok(AccountMapping {
                    vendor_connection: r.get(0)?,
                    account_id: r.get(1)?,
                    account_name: r.get(2)?,
                    target: match (conn, id) {
                        (Some(connection), Some(company_id)) => Some(CompanyTarget {
                            connection,
                            company_id,
                            company_name: name.unwrap_or_default(),
                        }),
                        _ => None,
                    },
                    source: source(r.get(6)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn service_mappings(&self) -> Result<Vec<ServiceMapping>> {
        let mut stmt = self.conn.prepare(
            "SELECT vendor_connection, service_key, psa_connection, product_identifier, source
             FROM service_map ORDER BY vendor_connection, service_key",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let conn: Option<String> = r.get(2)?;
                let product: Option<String> = r.get(3)?;
                Ok(ServiceMapping {
                    vendor_connection: r.get(0)?,
                    service_key: r.get(1)?,
                    target: match (conn, product) {
                        (Some(connection), Some(product_identifier)) => Some(ProductTarget {
                            connection,
                            product_identifier,
                        }),
                        _ => None,
                    },
                    source: source(r.get(4)?),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn set_account_mapping(&mut self, m: &AccountMapping) -> Result<()> {
        self.set_mappings(std::slice::from_ref(m), &[])
    }

    pub fn set_service_mapping(&mut self, m: &ServiceMapping) -> Result<()> {
        self.set_mappings(&[], std::slice::from_ref(m))
    }

    /// Writes many mappings at once: all or none.
    pub fn set_mappings(
        &mut self,
        accounts: &[AccountMapping],
        services: &[ServiceMapping],
    ) -> Result<()> {
        let tx = self.write()?;
        for m in accounts {
            upsert_account(&tx, m)?;
        }
        for m in services {
            upsert_service(&tx, m)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn remove_account_mapping(
        &mut self,
        vendor_connection: &str,
        account_id: &str,
    ) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.execute(
            "DELETE FROM account_map WHERE vendor_connection = ?1 AND account_id = ?2",
            params![vendor_connection, account_id],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    pub fn remove_service_mapping(
        &mut self,
        vendor_connection: &str,
        service_key: &str,
    ) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.execute(
            "DELETE FROM service_map WHERE vendor_connection = ?1 AND service_key = ?2",
            params![vendor_connection, service_key],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Removes every mapping that involves a connection, on either side; returns how many.
    pub fn remove_mappings_of(&mut self, connection: &str) -> Result<usize> {
        let tx = self.write()?;
        let mut n = tx.execute(
            "DELETE FROM account_map WHERE vendor_connection = ?1 OR psa_connection = ?1",
            [connection],
        )?;
        n += tx.execute(
            "DELETE FROM service_map WHERE vendor_connection = ?1 OR psa_connection = ?1",
            [connection],
        )?;
        tx.commit()?;
        Ok(n)
    }
}
