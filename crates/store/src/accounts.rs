//! Accounts, role grants, sessions and API tokens. Secrets are stored hashed: passwords with
//! argon2id (hashed by the caller), session and API tokens with SHA-256.

use crate::dossiers::sha256_hex;
use crate::models::*;
use crate::{Result, Store};
use chrono::{DateTime, Utc};
use sea_query::{Expr, ExprTrait, InsertStatement, OnConflict, Query};

const USER_COLUMNS: [&str; 10] = [
    "id",
    "username",
    "password_hash",
    "display_name",
    "kind",
    "person_number",
    "tax_code",
    "email",
    "disabled",
    "created_at",
];

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub display_name: String,
    pub kind: String,
    pub person_number: Option<String>,
    pub tax_code: Option<String>,
    pub email: Option<String>,
}

fn users_insert(users: &[NewUser]) -> InsertStatement {
    let now = Utc::now();
    let mut q = Query::insert()
        .into_table("users")
        .columns([
            "username",
            "password_hash",
            "display_name",
            "kind",
            "person_number",
            "tax_code",
            "email",
            "disabled",
            "created_at",
        ])
        .to_owned();
    for u in users {
        q.values_panic([
            u.username.clone().into(),
            u.password_hash.clone().into(),
            u.display_name.clone().into(),
            u.kind.clone().into(),
            u.person_number.clone().into(),
            u.tax_code.clone().into(),
            u.email.clone().into(),
            false.into(),
            now.into(),
        ]);
    }
    q
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Sets (or clears) the e-mail address notifications go to.
    pub async fn set_user_email(&self, user_id: i64, email: Option<&str>) -> Result<()> {
        let n = self
            .db
            .execute(
                &sea_query::Query::update()
                    .table("users")
                    .value("email", email.map(str::to_string))
                    .and_where(sea_query::Expr::col("id").eq(user_id))
                    .to_owned(),
            )
            .await?;
        if n == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn create_user(&self, u: &NewUser) -> Result<i64> {
        let row: IdRow =
            self.db.fetch_one(&users_insert(std::slice::from_ref(u)).returning_col("id").to_owned()).await.map_err(
                |e| if e.is_unique_violation() { crate::StoreError::Duplicate(u.username.clone()) } else { e },
            )?;
        Ok(row.id)
    }

    /// Inserts many users in one statement (seeding).
    pub async fn create_users_bulk(&self, users: &[NewUser]) -> Result<()> {
        if !users.is_empty() {
            self.db.execute(&users_insert(users)).await?;
        }
        Ok(())
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        self.db
            .fetch_one(
                &Query::select().columns(USER_COLUMNS).from("users").and_where(Expr::col("id").eq(id)).to_owned(),
            )
            .await
    }

    pub async fn user_by_username(&self, username: &str) -> Result<User> {
        self.db
            .fetch_one(
                &Query::select()
                    .columns(USER_COLUMNS)
                    .from("users")
                    .and_where(Expr::col("username").eq(username))
                    .to_owned(),
            )
            .await
    }

    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<()> {
        self.db
            .execute(
                &Query::update()
                    .table("users")
                    .value("password_hash", password_hash)
                    .and_where(Expr::col("id").eq(user_id))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    pub async fn grant_role(&self, user_id: i64, agency_id: i64, role: &str) -> Result<()> {
        self.db
            .execute(
                &Query::insert()
                    .into_table("user_roles")
                    .columns(["user_id", "agency_id", "role"])
                    .values_panic([user_id.into(), agency_id.into(), role.into()])
                    .on_conflict(OnConflict::columns(["user_id", "agency_id", "role"]).do_nothing().to_owned())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    pub async fn roles(&self, user_id: i64) -> Result<Vec<RoleGrant>> {
        self.db
            .fetch_all(
                &Query::select()
                    .columns(["agency_id", "role"])
                    .from("user_roles")
                    .and_where(Expr::col("user_id").eq(user_id))
                    .to_owned(),
            )
            .await
    }

    /// Officials holding a role in an agency (hand-off targets).
    pub async fn officers_of(&self, agency_id: i64) -> Result<Vec<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct GrantRow {
            user_id: i64,
            role: String,
        }
        let grants: Vec<GrantRow> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(["user_id", "role"])
                    .from("user_roles")
                    .and_where(Expr::col("agency_id").eq(agency_id))
                    .order_by("user_id", sea_query::Order::Asc)
                    .to_owned(),
            )
            .await?;
        let users: Vec<User> = self
            .db
            .fetch_all(
                &Query::select()
                    .columns(USER_COLUMNS)
                    .from("users")
                    .and_where(Expr::col("id").is_in(grants.iter().map(|g| g.user_id)))
                    .to_owned(),
            )
            .await?;
        Ok(grants
            .into_iter()
            .filter_map(|g| users.iter().find(|u| u.id == g.user_id).map(|u| (u.clone(), g.role)))
            .collect())
    }

    /// Opens a session; `token` is the cookie value, stored only as its hash.
    pub async fn create_session(&self, token: &str, user_id: i64, csrf: &str, expires_at: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                &Query::insert()
                    .into_table("sessions")
                    .columns(["token_hash", "user_id", "csrf_token", "created_at", "expires_at"])
                    .values_panic([
                        sha256_hex(token.as_bytes()).into(),
                        user_id.into(),
                        csrf.into(),
                        Utc::now().into(),
                        expires_at.into(),
                    ])
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    pub async fn session(&self, token: &str) -> Result<Option<SessionRow>> {
        self.db
            .fetch_optional(
                &Query::select()
                    .columns(["user_id", "csrf_token", "expires_at"])
                    .from("sessions")
                    .and_where(Expr::col("token_hash").eq(sha256_hex(token.as_bytes())))
                    .and_where(Expr::col("expires_at").gt(Utc::now()))
                    .to_owned(),
            )
            .await
    }

    pub async fn delete_session(&self, token: &str) -> Result<()> {
        self.db
            .execute(
                &Query::delete()
                    .from_table("sessions")
                    .and_where(Expr::col("token_hash").eq(sha256_hex(token.as_bytes())))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    /// Issues an API token for a system client acting as `user_id`; only its hash is kept.
    pub async fn create_api_token(&self, token: &str, user_id: i64, name: &str) -> Result<i64> {
        let row: IdRow = self
            .db
            .fetch_one(
                &Query::insert()
                    .into_table("api_tokens")
                    .columns(["token_hash", "user_id", "name", "created_at"])
                    .values_panic([sha256_hex(token.as_bytes()).into(), user_id.into(), name.into(), Utc::now().into()])
                    .returning_col("id")
                    .to_owned(),
            )
            .await?;
        Ok(row.id)
    }

    /// The user an API token acts for, if the token is valid and not revoked.
    pub async fn api_token_user(&self, token: &str) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct TokenUser {
            user_id: i64,
        }
        let r: Option<TokenUser> = self
            .db
            .fetch_optional(
                &Query::select()
                    .column("user_id")
                    .from("api_tokens")
                    .and_where(Expr::col("token_hash").eq(sha256_hex(token.as_bytes())))
                    .and_where(Expr::col("revoked_at").is_null())
                    .to_owned(),
            )
            .await?;
        Ok(r.map(|r| r.user_id))
    }
}
