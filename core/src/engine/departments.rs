//! Departments: create, rename, deactivate (and reactivate), list.

use super::command;
use super::{is_unique_violation, rows, Ctx, Emit, Engine};
use crate::db::Tx;
use crate::domain::*;
use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::outbox::EventPayload;

async fn load(tx: &mut Tx, id: DepartmentId) -> Result<Department> {
    let row = sqlx::query("select id, name, active from departments where id = $1")
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(EngineError::NotFound("department"))?;
    rows::department(&row)
}

fn name_taken(e: sqlx::Error, name: &Name) -> EngineError {
    if is_unique_violation(&e) {
        EngineError::Conflict(format!("a department named {:?} exists", name.as_str()))
    } else {
        e.into()
    }
}

impl Engine {
    /// Staff create a department.
    pub async fn create_department(&self, ctx: &Ctx, name: &str) -> Result<Department> {
        let name = Name::parse(name)?;
        command!(self, ctx.key.as_deref(), "create_department", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let id: i64 = sqlx::query_scalar(
                "insert into departments (name, created_at) values ($1, $2) returning id",
            )
            .bind(name.as_str())
            .bind(self.now().0)
            .fetch_one(&mut **tx)
            .await
            .map_err(|e| name_taken(e, &name))?;
            let department = load(tx, DepartmentId(id)).await?;
            let event = Emit::global(
                Some(actor.id),
                EventPayload::DepartmentChanged {
                    department: department.clone(),
                },
            );
            Ok((department, event))
        })
    }

    /// Staff rename a department.
    pub async fn rename_department(
        &self,
        ctx: &Ctx,
        id: DepartmentId,
        name: &str,
    ) -> Result<Department> {
        let name = Name::parse(name)?;
        command!(self, ctx.key.as_deref(), "rename_department", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let before = load(tx, id).await?;
            if before.name == name.as_str() {
                return Err(EngineError::Conflict(
                    "the department already has that name".into(),
                ));
            }
            sqlx::query("update departments set name = $2 where id = $1")
                .bind(id.0)
                .bind(name.as_str())
                .execute(&mut **tx)
                .await
                .map_err(|e| name_taken(e, &name))?;
            let department = load(tx, id).await?;
            let event = Emit::global(
                Some(actor.id),
                EventPayload::DepartmentChanged {
                    department: department.clone(),
                },
            );
            Ok((department, event))
        })
    }

    /// Staff deactivate a department (no new tickets under it; existing
    /// tickets keep it) or reactivate it.
    pub async fn set_department_active(
        &self,
        ctx: &Ctx,
        id: DepartmentId,
        active: bool,
    ) -> Result<Department> {
        command!(self, ctx.key.as_deref(), "set_department_active", |tx| {
            let actor = self.staff(tx, ctx.actor).await?;
            let before = load(tx, id).await?;
            if before.active == active {
                let state = if active { "active" } else { "inactive" };
                return Err(EngineError::Conflict(format!(
                    "the department is already {state}"
                )));
            }
            sqlx::query("update departments set active = $2 where id = $1")
                .bind(id.0)
                .bind(i64::from(active))
                .execute(&mut **tx)
                .await?;
            let department = load(tx, id).await?;
            let event = Emit::global(
                Some(actor.id),
                EventPayload::DepartmentChanged {
                    department: department.clone(),
                },
            );
            Ok((department, event))
        })
    }

    /// Departments by name: the active ones, or all of them.
    pub async fn departments(&self, include_inactive: bool) -> Result<Vec<Department>> {
        let sql = if include_inactive {
            "select id, name, active from departments order by lower(name)"
        } else {
            "select id, name, active from departments where active = 1 order by lower(name)"
        };
        let found = sqlx::query(sql).fetch_all(self.db.pool()).await?;
        found.iter().map(rows::department).collect()
    }
}
