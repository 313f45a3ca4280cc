"""The central PostgreSQL: schema, roles, row-level security, and applying a pushed batch.

Everything here is generated from the same SQLAlchemy metadata as the branch databases, so a
table another module adds is created, protected and synced by ``central init`` without changes
here. Design and rules: docs/sync.md.

Roles
- ``asd_owner`` (NOLOGIN) owns every table; ``central init`` runs as a superuser (or a member of
  ``asd_owner``) and creates objects under ``SET ROLE asd_owner``.
- ``asd_branch`` (NOLOGIN) holds the grants; each branch logs in as its own role
  (``asd_b_<code>``, NOBYPASSRLS, member of ``asd_branch``) mapped to its branch in
  ``branch_roles``, a table branch roles cannot read or write; ``sync_branch()`` (SECURITY
  DEFINER) answers "which branch is the session user".
- Row-level security is ENABLEd and FORCEd on every synced table and every sync table: branch and
  child tables let a branch role see and write only its branch's rows (USING and WITH CHECK);
  master tables (branches, parts catalogue, …) are SELECT-only to branch roles.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ForeignKeyConstraint, Index, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from aftersales_desk.data import sync_capture as cap
from aftersales_desk.domain.hlc import DEFAULT_MAX_SKEW_MS, Stamp, clamp
from aftersales_desk.errors import RefusedError, UsageError
from aftersales_desk.i18n import _
from aftersales_desk.services.sync import PROTOCOL_VERSION

OWNER = "asd_owner"
BRANCH_GROUP = "asd_branch"
# How many schema revisions back (head included) central still accepts from devices.
ACCEPTED_REVISIONS = 2
CENTRAL_NODE = "c" * 32

SYNC_DDL = [
    """CREATE TABLE IF NOT EXISTS sync_meta (key text PRIMARY KEY, value jsonb NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS branch_roles (
        role name PRIMARY KEY, branch_id uuid NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS sync_changes (
        seq bigserial PRIMARY KEY,
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        branch_id uuid,
        tbl text NOT NULL, pk text NOT NULL, op char(1) NOT NULL,
        cols jsonb, hlc text NOT NULL,
        device_id text, batch_no integer)""",
    "CREATE INDEX IF NOT EXISTS ix_sync_changes_cursor ON sync_changes (xid, seq)",
    # finds a row's insert (its clock is every field's clock until the row's first edit, see
    # sync_row_clocks): a hash index — only equality is asked, and a random key costs less to
    # add to a hash bucket than to a b-tree (the b-tree of an older central is replaced)
    "DROP INDEX IF EXISTS ix_sync_changes_insert",
    """CREATE INDEX IF NOT EXISTS ix_sync_changes_inserted ON sync_changes USING hash (pk)
        WHERE op = 'I'""",
    """CREATE TABLE IF NOT EXISTS sync_batches (
        device_id text NOT NULL, batch_no integer NOT NULL, branch_id uuid NOT NULL,
        at timestamptz NOT NULL DEFAULT now(), changes integer NOT NULL,
        protocol integer NOT NULL, revision text NOT NULL,
        PRIMARY KEY (device_id, batch_no))""",
    # Per-field clocks and the delete tombstone of a row that was edited or deleted; a row only
    # inserted has none: every field carries its insert's clock, found in the change log
    """CREATE TABLE IF NOT EXISTS sync_row_clocks (
        tbl text NOT NULL, pk text NOT NULL, branch_id uuid NOT NULL,
        clocks jsonb NOT NULL, deleted_hlc text,
        PRIMARY KEY (tbl, pk))""",
    """CREATE TABLE IF NOT EXISTS sync_conflicts (
        id bigserial PRIMARY KEY, branch_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now(),
        tbl text NOT NULL, pk text NOT NULL, col text NOT NULL,
        kept_value jsonb, lost_value jsonb, kept_hlc text NOT NULL, lost_hlc text NOT NULL,
        device_id text NOT NULL, batch_no integer NOT NULL)""",
    # the reviewer's decision, set by the desk that resolved it (services/sync/conflict_share.py)
    """ALTER TABLE sync_conflicts ADD COLUMN IF NOT EXISTS resolved_at timestamptz,
        ADD COLUMN IF NOT EXISTS resolved_by text, ADD COLUMN IF NOT EXISTS resolution text,
        ADD COLUMN IF NOT EXISTS resolved_device text""",
    """CREATE INDEX IF NOT EXISTS ix_sync_conflicts_open ON sync_conflicts (branch_id, id)
        WHERE resolved_at IS NULL""",
    """CREATE TABLE IF NOT EXISTS sync_quarantine (
        id bigserial PRIMARY KEY, branch_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now(),
        device_id text NOT NULL, batch_no integer NOT NULL,
        tbl text NOT NULL, pk text NOT NULL, op char(1) NOT NULL, cols jsonb, hlc text NOT NULL,
        reason text NOT NULL)""",
    "CREATE SEQUENCE IF NOT EXISTS sync_hlc_counter",
]
# Sync tables a branch role uses, and what it may do with them (all under row-level security).
SYNC_TABLE_GRANTS = {
    "sync_changes": "SELECT, INSERT",
    "sync_batches": "SELECT, INSERT",
    "sync_row_clocks": "SELECT, INSERT, UPDATE",
    # a branch may mark its own conflicts resolved (RLS: its branch), never change their values
    "sync_conflicts": "SELECT, INSERT, UPDATE (resolved_at, resolved_by, resolution, resolved_device)",
    "sync_quarantine": "SELECT, INSERT",
}

FUNCTIONS = [
    # Which branch the logged-in role is (branch_roles is not readable by branch roles).
    """CREATE OR REPLACE FUNCTION sync_branch() RETURNS uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
        $$ SELECT branch_id FROM branch_roles WHERE role = session_user $$""",
    # Refuse a request from a program whose protocol or schema central does not accept.
    """CREATE OR REPLACE FUNCTION sync_check(protocol integer, revision text) RETURNS void
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE lo integer; hi integer; revs jsonb;
        BEGIN
          SELECT (value->>0)::int, (value->>1)::int INTO lo, hi FROM sync_meta
            WHERE key = 'protocol';
          SELECT value INTO revs FROM sync_meta WHERE key = 'revisions';
          IF protocol < lo OR protocol > hi OR NOT revs ? revision THEN
            RAISE EXCEPTION 'SYNC-VERSION protocol % schema % not accepted; accepted: protocol %-%, schema %',
              protocol, revision, lo, hi, revs USING ERRCODE = 'P0001';
          END IF;
        END $$""",
    # A clock stamp for changes made on central itself (master data).
    f"""CREATE OR REPLACE FUNCTION sync_hlc() RETURNS text LANGUAGE sql VOLATILE AS $$
        SELECT lpad(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text, 16, '0')
          || '-' || lpad((nextval('sync_hlc_counter') % 1000000000)::text, 9, '0')
          || '-{CENTRAL_NODE}' $$""",
    """CREATE OR REPLACE FUNCTION sync_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
    # A set-based insert of pushed rows stops when some rows do not have the run's columns.
    """CREATE OR REPLACE FUNCTION sync_refuse_run(bad bigint) RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          IF bad > 0 THEN RAISE EXCEPTION '% rows of the run have other columns', bad; END IF;
          RETURN bad;
        END $$""",
]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def branch_role_name(code: str) -> str:
    return "asd_b_" + code.strip().lower()


def branch_uuid(code: str) -> uuid.UUID:
    from aftersales_desk.data.sync_capture import branch_uuid as _bu

    return _bu(code)


# --- connecting -------------------------------------------------------------------------------


def connect(url: str, *, password: str | None = None) -> Any:
    """A psycopg connection to ``url`` (a libpq URL or conninfo; ``sslmode`` and every other
    libpq parameter pass through); failures become one translated line."""
    import psycopg

    kwargs: dict[str, Any] = {}
    if password:
        kwargs["password"] = password
    try:
        return psycopg.connect(url, connect_timeout=10, **kwargs)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            _("Cannot connect to the central database: {reason}").format(reason=first)
        ) from exc
    except psycopg.ProgrammingError as exc:
        raise UsageError(
            _("The central database address is not valid: {reason}").format(reason=exc)
        ) from exc


# --- schema -----------------------------------------------------------------------------------


def _pg_wire(expr: str, kind: str) -> str:
    """SQL turning a PostgreSQL value into the wire form (see data/sync_capture.py)."""
    if kind == "uuid":
        return f"replace({expr}::text, '-', '')"
    if kind == "datetime":
        return f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if kind == "bool":
        return f"{expr}::int"
    if kind in ("json", "date"):
        return f"{expr}::text"
    if kind == "time":
        return f"to_char(date '2000-01-01' + {expr}, 'HH24:MI:SS.US')"
    return expr


def _pg_snapshot_text(expr: str, kind: str) -> str:
    """SQL for a snapshot's column: the wire form as ``_pg_wire`` gives it, a uuid read as its
    16 bytes in hex (the same 32 digits, at half the server's cost of ``replace`` on its text).
    A time (timestamptz) as PostgreSQL's own ISO text of its UTC value (``DateStyle`` ISO, set
    by ``snapshot``): ``2026-11-23 08:00:00.5`` — the wire form but for the trailing zeros of
    the fraction, which the desk puts back as it stores the row (``client.WIRE_DATETIME_SQL``);
    ``to_char`` is a fifth of the server's work per row, and the server is the bound."""
    if kind == "uuid":
        return f"encode(uuid_send({expr}), 'hex')"
    if kind == "datetime":
        return f"({expr} AT TIME ZONE 'UTC')::text"
    return _pg_wire(expr, kind)


def _zoned(col: Any) -> bool:
    """A ``timestamptz`` column (every time column of the models: ``UTCDateTime``)."""
    return bool(getattr(getattr(col.type, "impl", col.type), "timezone", False))


def _row_json(t: Table, prefix: str) -> str:
    kinds = cap.column_kinds(t.name)
    pairs = [f"'{c.name}', {_pg_wire(f'{prefix}.{_q(c.name)}', kinds[c.name])}" for c in t.c]
    chunks = [pairs[i : i + 40] for i in range(0, len(pairs), 40)]
    return " || ".join("jsonb_build_object(" + ", ".join(ch) + ")" for ch in chunks)


def _master_capture_sql(t: Table) -> list[str]:
    fn = f"sync_capture_{t.name}"
    (pk,) = [c.name for c in t.primary_key]
    return [
        f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc)
              VALUES (NULL, '{t.name}', replace(OLD.{_q(pk)}::text, '-', ''), 'D', NULL,
                      sync_hlc());
            RETURN OLD;
          END IF;
          INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc)
            VALUES (NULL, '{t.name}', replace(NEW.{_q(pk)}::text, '-', ''),
                    CASE TG_OP WHEN 'INSERT' THEN 'I' ELSE 'U' END, {_row_json(t, "NEW")},
                    sync_hlc());
          RETURN NEW;
        END $$""",
        f"DROP TRIGGER IF EXISTS {fn} ON {_q(t.name)}",
        f"CREATE TRIGGER {fn} AFTER INSERT OR UPDATE OR DELETE ON {_q(t.name)} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
    ]


# --- indexes and foreign keys at central (docs/sync.md "Indexes and foreign keys at central") --


def _branch_fk(fk: ForeignKeyConstraint) -> bool:
    """A foreign key whose only job is ``branch_id`` → ``branches``: redundant at central, where
    row-level security pins a branch role's rows to its (existing) branch."""
    return [c.name for c in fk.columns] == ["branch_id"] and fk.referred_table.name == "branches"


def central_foreign_keys(t: Table) -> list[ForeignKeyConstraint]:
    """The table's foreign keys central keeps: all but ``branch_id`` → ``branches`` (those
    between synced records enforce delete-versus-edit and stay)."""
    return [fk for fk in t.foreign_key_constraints if not _branch_fk(fk)]


def _index_columns(ix: Index) -> list[str | None]:
    return [getattr(e, "name", None) if isinstance(e, Column) else None for e in ix.expressions]


def _partial(ix: Index) -> bool:
    return any(opts.get("where") is not None for opts in ix.dialect_options.values())


def central_indexes(t: Table) -> list[Index]:
    """The metadata's indexes of synced table ``t`` that central builds. Central is a sync store,
    not a desk: it looks rows up by primary key (applying a change), checks uniqueness, and
    looks up by a column set whose lookups would otherwise scan the table — a kept foreign
    key's columns (a parent's delete or key change checks its children) and ``branch_id`` (row
    level security filters every branch read by it: snapshot, gap report). So: every unique
    index, and for each such column set the narrowest plain index leading with it, unless the
    primary key, a unique constraint or a unique index already leads with it. The desks'
    search and list indexes are not built here."""
    uniques: list[list[str | None]] = [[c.name for c in t.primary_key.columns]]
    uniques += [
        [c.name for c in uc.columns] for uc in t.constraints if isinstance(uc, UniqueConstraint)
    ]
    wanted = sorted((ix for ix in t.indexes if ix.unique), key=lambda ix: str(ix.name))
    uniques += [_index_columns(ix) for ix in wanted]
    lookups: list[list[str]] = [[c.name for c in fk.columns] for fk in central_foreign_keys(t)]
    if "branch_id" in t.c:
        lookups.append(["branch_id"])
    for cols in lookups:
        if any(have[: len(cols)] == cols for have in uniques):
            continue
        plain = [
            ix
            for ix in t.indexes
            if not ix.unique and not _partial(ix) and _index_columns(ix)[: len(cols)] == cols
        ]
        if plain:
            best = min(plain, key=lambda ix: (len(ix.expressions), str(ix.name)))
            wanted.append(best)
            uniques.append(_index_columns(best))
    return wanted


def _index_sql(t: Table) -> list[str]:
    """Create the indexes central wants on ``t``; drop the metadata's other indexes and the
    ``branch_id`` → ``branches`` foreign keys an older ``central init`` made (idempotent)."""
    dialect = postgresql.dialect()
    wanted = central_indexes(t)
    names = {ix.name for ix in wanted}
    out = [f"ALTER TABLE {_q(t.name)} DROP CONSTRAINT IF EXISTS {_q(str(fk.name))}"
           for fk in t.foreign_key_constraints if _branch_fk(fk)]  # fmt: skip
    out += [f"DROP INDEX IF EXISTS {_q(str(ix.name))}" for ix in t.indexes if ix.name not in names]
    out += [str(CreateIndex(ix, if_not_exists=True).compile(dialect=dialect)) for ix in wanted]
    return out


def _branch_integrity_sql(tables: list[Table]) -> list[str]:
    """What the dropped ``branch_id`` → ``branches`` foreign keys guaranteed, kept without a
    per-row check on a branch's push: a branch login's mapping names an existing branch
    (``branch_roles`` → ``branches``), the owner's own writes to a branch table name an existing
    branch (its policy's WITH CHECK; a branch role's WITH CHECK already pins its own branch),
    and a branch that rows refer to cannot be deleted nor its key changed (trigger)."""
    tables = [t for t in tables if any(_branch_fk(fk) for fk in t.foreign_key_constraints)]
    exists = "\n".join(
        f"  IF EXISTS (SELECT 1 FROM {_q(t.name)} WHERE branch_id = OLD.id) THEN "
        f"RAISE EXCEPTION 'branch % still has rows in {t.name}', OLD.id "
        "USING ERRCODE = 'foreign_key_violation'; END IF;"
        for t in tables
    )
    return [
        """DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk_branch_roles_branch'
              AND conrelid = 'branch_roles'::regclass) THEN
            ALTER TABLE branch_roles ADD CONSTRAINT fk_branch_roles_branch
              FOREIGN KEY (branch_id) REFERENCES branches (id);
          END IF;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION sync_branch_in_use() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN RETURN NEW; END IF;
        {exists}
          IF TG_OP = 'UPDATE' THEN RETURN NEW; END IF;
          RETURN OLD;
        END $$""",
        "DROP TRIGGER IF EXISTS sync_branch_in_use ON branches",
        "CREATE TRIGGER sync_branch_in_use BEFORE DELETE OR UPDATE OF id ON branches "
        "FOR EACH ROW EXECUTE FUNCTION sync_branch_in_use()",
    ]


def _owner_check(t: Table) -> str:
    """The owner policy's WITH CHECK: on a table whose ``branch_id`` → ``branches`` key central
    does not keep, the owner's rows name an existing branch (or none)."""
    if any(_branch_fk(fk) for fk in t.foreign_key_constraints):
        return "branch_id IS NULL OR EXISTS (SELECT 1 FROM branches b WHERE b.id = branch_id)"
    return "true"


def _policy_sql(t: Table) -> list[str]:
    kind = cap.classify(t)
    name = _q(t.name)
    out = [
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS owner_all ON {name}",
        f"CREATE POLICY owner_all ON {name} TO {OWNER} USING (true) WITH CHECK ({_owner_check(t)})",
        f"DROP POLICY IF EXISTS branch_rows ON {name}",
        f"DROP POLICY IF EXISTS master_read ON {name}",
    ]
    append_only = t.name in _append_only()
    if kind == "master":
        out.append(f"CREATE POLICY master_read ON {name} FOR SELECT TO {BRANCH_GROUP} USING (true)")
        out.append(f"GRANT SELECT ON {name} TO {BRANCH_GROUP}")
        return out
    if kind == "branch":
        cond = "branch_id = (SELECT sync_branch())"
    else:
        col, parent = cap.child_parent(t)  # type: ignore[misc]
        cond = (
            f"EXISTS (SELECT 1 FROM {_q(parent)} p "
            f"WHERE p.id = {name}.{_q(col)} AND p.branch_id = (SELECT sync_branch()))"
        )
    out.append(
        f"CREATE POLICY branch_rows ON {name} TO {BRANCH_GROUP} USING ({cond}) WITH CHECK ({cond})"
    )
    privileges = "SELECT, INSERT" if append_only else "SELECT, INSERT, UPDATE, DELETE"
    out.append(f"REVOKE ALL ON {name} FROM {BRANCH_GROUP}")
    out.append(f"GRANT {privileges} ON {name} TO {BRANCH_GROUP}")
    if append_only:
        trg = f"sync_{t.name}_append_only"
        out.append(f"DROP TRIGGER IF EXISTS {trg} ON {name}")
        out.append(
            f"CREATE TRIGGER {trg} BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION sync_refuse_change()"
        )
    return out


def _append_only() -> frozenset[str]:
    from aftersales_desk.data.models.core import APPEND_ONLY_TABLES

    return frozenset(APPEND_ONLY_TABLES)


def _accepted_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    from aftersales_desk.data.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in script.walk_revisions()][:ACCEPTED_REVISIONS]


def _ensure_role(cur: Any, name: str, options: str) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    if cur.fetchone() is None:
        cur.execute(f"CREATE ROLE {_q(name)} {options}")
    else:
        cur.execute(f"ALTER ROLE {_q(name)} {options}")


@dataclass
class InitResult:
    created_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    synced_tables: int = 0
    revisions: list[str] = field(default_factory=list)


def init(url: str, *, revisions: list[str] | None = None) -> InitResult:
    """Create or upgrade the central schema, roles and row-level security (idempotent)."""
    result = InitResult()
    dialect = postgresql.dialect()
    with connect(url) as conn, conn.cursor() as cur:
        _ensure_role(cur, OWNER, "NOLOGIN NOBYPASSRLS")
        _ensure_role(cur, BRANCH_GROUP, "NOLOGIN NOBYPASSRLS")
        cur.execute(f"GRANT {_q(OWNER)} TO current_user")
        schema = _schema(cur)
        cur.execute(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {_q(OWNER)}")
        cur.execute(f"GRANT USAGE ON SCHEMA {schema} TO {_q(BRANCH_GROUP)}")
        cur.execute(f"SET ROLE {_q(OWNER)}")
        for sql in SYNC_DDL + FUNCTIONS:
            cur.execute(sql)
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        existing: dict[str, set[str]] = {}
        for tname, cname in cur.fetchall():
            existing.setdefault(tname, set()).add(cname)
        tables = cap.synced_tables()
        for t in tables:
            if t.name not in existing:
                create = CreateTable(t, include_foreign_key_constraints=central_foreign_keys(t))
                cur.execute(str(create.compile(dialect=dialect)))
                result.created_tables.append(t.name)
            else:
                for c in t.c:
                    if c.name not in existing[t.name]:
                        ctype = c.type.compile(dialect=dialect)
                        cur.execute(f"ALTER TABLE {_q(t.name)} ADD COLUMN {_q(c.name)} {ctype}")
                        result.added_columns.append(f"{t.name}.{c.name}")
            for sql in _index_sql(t):
                cur.execute(sql)
        for sql in _branch_integrity_sql(tables):
            cur.execute(sql)
        for t in tables:
            for sql in _policy_sql(t):
                cur.execute(sql)
            if cap.classify(t) == "master":
                for sql in _master_capture_sql(t):
                    cur.execute(sql)
        # hook (issue 9, document numbers): unique (branch, number) on every numbered table
        from aftersales_desk.services.sync import central_documents

        central_documents.ensure_schema(cur)
        # hook (issue 9, catalogue): the master rows every desk's migrations seed (insurers)
        from aftersales_desk.services.sync import central_catalogue

        central_catalogue.seed_master_data(cur)
        for tname, privileges in SYNC_TABLE_GRANTS.items():
            cur.execute(f"ALTER TABLE {tname} ENABLE ROW LEVEL SECURITY")
            cur.execute(f"ALTER TABLE {tname} FORCE ROW LEVEL SECURITY")
            for pol in ("owner_all", "branch_rows", "branch_read"):
                cur.execute(f"DROP POLICY IF EXISTS {pol} ON {tname}")
            cur.execute(
                f"CREATE POLICY owner_all ON {tname} TO {OWNER} USING (true) WITH CHECK (true)"
            )
            if tname == "sync_changes":
                cur.execute(
                    f"CREATE POLICY branch_read ON {tname} FOR SELECT TO {BRANCH_GROUP} "
                    "USING (branch_id IS NULL OR branch_id = (SELECT sync_branch()))"
                )
                cur.execute(
                    f"CREATE POLICY branch_rows ON {tname} FOR INSERT TO {BRANCH_GROUP} "
                    "WITH CHECK (branch_id = (SELECT sync_branch()))"
                )
            else:
                cur.execute(
                    f"CREATE POLICY branch_rows ON {tname} TO {BRANCH_GROUP} "
                    "USING (branch_id = (SELECT sync_branch())) WITH CHECK (branch_id = (SELECT sync_branch()))"
                )
            cur.execute(f"REVOKE ALL ON {tname} FROM {BRANCH_GROUP}")
            cur.execute(f"GRANT {privileges} ON {tname} TO {BRANCH_GROUP}")
        cur.execute(f"REVOKE ALL ON branch_roles, sync_meta FROM {BRANCH_GROUP}, PUBLIC")
        cur.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {_q(BRANCH_GROUP)}")
        cur.execute("REVOKE ALL ON FUNCTION sync_branch() FROM PUBLIC")
        cur.execute(f"GRANT EXECUTE ON FUNCTION sync_branch() TO {_q(BRANCH_GROUP)}")
        result.revisions = revisions or _accepted_revisions()
        cur.execute(
            "INSERT INTO sync_meta (key, value) VALUES ('protocol', %s), ('revisions', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps([PROTOCOL_VERSION, PROTOCOL_VERSION]), json.dumps(result.revisions)),
        )
        cur.execute("RESET ROLE")
        conn.commit()
    result.synced_tables = len(tables)
    return result


def _schema(cur: Any) -> str:
    cur.execute("SELECT current_schema()")
    return _q(cur.fetchone()[0])


@dataclass
class BranchCredentials:
    branch: str
    role: str
    password: str


def add_branch(url: str, code: str, *, name: str | None = None) -> BranchCredentials:
    """Create (or re-key) the login role of branch ``code``, mapped to its branch row (created
    when missing). The password is generated here and returned once."""
    code = code.strip().upper()
    if not code or not code.isalnum() or len(code) > 16:
        raise UsageError(_("A branch code is 1 to 16 letters or digits, e.g. BJ01."))
    role = branch_role_name(code)
    password = secrets.token_urlsafe(18)
    bid = branch_uuid(code)
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_tables WHERE tablename = 'branch_roles'")
        if cur.fetchone() is None:
            raise UsageError(_("The central database is not set up; run 'central init' first."))
        _ensure_role(cur, role, "LOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT")
        cur.execute(f"ALTER ROLE {_q(role)} PASSWORD %s".replace("%s", _literal(cur, password)))
        cur.execute(f"GRANT {_q(BRANCH_GROUP)} TO {_q(role)}")
        cur.execute(f"SET ROLE {_q(OWNER)}")
        cur.execute(
            "INSERT INTO branches (id, code, name, address, phone, created_at, updated_at) "
            "VALUES (%s, %s, %s, '', '', now(), now()) ON CONFLICT (id) DO NOTHING",
            (bid, code, name or code),
        )
        cur.execute(
            "INSERT INTO branch_roles (role, branch_id) VALUES (%s, %s) "
            "ON CONFLICT (role) DO UPDATE SET branch_id = excluded.branch_id",
            (role, bid),
        )
        cur.execute("RESET ROLE")
        conn.commit()
    return BranchCredentials(branch=code, role=role, password=password)


def _literal(cur: Any, value: str) -> str:
    from psycopg import sql

    return sql.Literal(value).as_string(cur)


# --- applying a pushed batch (runs under the branch's role) -----------------------------------


@dataclass
class Change:
    """One captured change as a device sends it. ``raw``: the new values as the JSON text the
    capture wrote (a device sends inserts that way, so neither side parses and re-encodes
    them); then ``cols`` may be None until something needs the values (``values``)."""

    tbl: str
    pk: str
    op: str
    cols: dict[str, Any] | None
    base: dict[str, Any] | None
    hlc: str
    raw: str | None = field(default=None, repr=False, compare=False)

    def values(self) -> dict[str, Any] | None:
        if self.cols is None and self.raw is not None:
            self.cols = json.loads(self.raw)
        return self.cols

    def text(self) -> str | None:
        """The new values as JSON text."""
        if self.raw is not None:
            return self.raw
        return None if self.cols is None else json.dumps(self.cols, ensure_ascii=False)


@dataclass
class Conflict:
    tbl: str
    pk: str
    col: str
    kept_value: Any
    lost_value: Any
    kept_hlc: str
    lost_hlc: str
    id: int | None = None  # central's sync_conflicts.id (None when read back for a replay)


@dataclass
class Quarantined:
    tbl: str
    pk: str
    op: str
    cols: dict[str, Any] | None
    hlc: str
    reason: str


@dataclass
class Ack:
    batch_no: int
    applied: int = 0
    replayed: bool = False
    skewed: bool = False
    conflicts: list[Conflict] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)


class _Refuse(Exception):
    """A change central will not apply: quarantined with this reason."""


class VersionRefused(RefusedError):
    pass


def _request(cur: Any, protocol: int, revision: str, extra: str = "", params: tuple = ()) -> tuple:
    """Check the version and find the session's branch (plus ``extra`` select items over
    ``b``, the branch) in one statement; refuse clearly when either fails."""
    import psycopg

    # ``v`` is selected so that the check cannot be optimized away; it runs before ``extra``.
    sql = "SELECT b, v" + (", " + extra if extra else "")
    sql += " FROM (SELECT sync_branch() AS b, sync_check(%s, %s) AS v) s"
    try:
        cur.execute(sql, (*params, protocol, revision))
    except psycopg.errors.RaiseException as exc:
        raise VersionRefused(
            _(
                "The central database does not accept this program (sync protocol {protocol}, "
                "schema {revision}); nothing was synced. Update the program on this computer. "
                "Central says: {detail}"
            ).format(protocol=protocol, revision=revision, detail=str(exc).splitlines()[0])
        ) from exc
    row = cur.fetchone()
    if row is None or row[0] is None:
        raise RefusedError(
            _(
                "This central login is not mapped to a branch; use the credentials printed "
                "by 'central add-branch'."
            )
        )
    return tuple(row)


def session_branch(cur: Any) -> uuid.UUID:
    cur.execute("SELECT sync_branch()")
    row = cur.fetchone()
    if row is None or row[0] is None:
        raise RefusedError(
            _(
                "This central login is not mapped to a branch; use the credentials printed "
                "by 'central add-branch'."
            )
        )
    return row[0]


def _same(kind: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return cap.from_wire(kind, a) == cap.from_wire(kind, b)
    except (ValueError, TypeError):
        return a == b


def push_batch(
    conn: Any,
    *,
    device_id: str,
    batch_no: int,
    changes: list[Change],
    protocol: int,
    revision: str,
    device_ms: int,
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
) -> Ack:
    """Apply one batch in one central transaction and record it, so that sending it again
    applies nothing. Batches of a device must come in order (1, 2, …); a batch out of order is
    refused whole. A change central refuses goes to ``sync_quarantine`` with its reason; the
    rest of the batch is applied."""

    ack = Ack(batch_no=batch_no)
    with conn.transaction(), conn.cursor() as cur:
        # One round trip: version check, which branch, the branch's push lock (pushes of one
        # branch are serialized, so their changes enter the log in commit order; the pull
        # cursor relies on it, docs/sync.md), the device's last batch, central's clock.
        row = _request(
            cur,
            protocol,
            revision,
            "(SELECT pg_advisory_xact_lock(hashtextextended(b::text, 7)) WHERE b IS NOT NULL), "
            "(SELECT coalesce(max(batch_no), 0) FROM sync_batches WHERE device_id = %s), "
            "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint, "
            # a set-based insert's rows (a few MB of JSON) stay in memory, not in temp files
            f"set_config('work_mem', '{PUSH_WORK_MEM}', true)",
            (device_id,),
        )
        branch, last, server_ms = row[0], int(row[3]), int(row[4])
        if batch_no <= last:
            ack.replayed = True
            cur.execute(
                "SELECT tbl, pk, col, kept_value, lost_value, kept_hlc, lost_hlc "
                "FROM sync_conflicts WHERE device_id = %s AND batch_no = %s ORDER BY id",
                (device_id, batch_no),
            )
            ack.conflicts = [Conflict(*r) for r in cur.fetchall()]
            return ack
        if batch_no != last + 1:
            raise RefusedError(
                _(
                    "Central expected batch {want} from this device but got {got}; nothing was "
                    "applied. Sync again."
                ).format(want=last + 1, got=batch_no)
            )
        cur.execute(
            "INSERT INTO sync_batches (device_id, batch_no, branch_id, changes, protocol, "
            "revision) VALUES (%s, %s, %s, %s, %s, %s)",
            (device_id, batch_no, branch, len(changes), protocol, revision),
        )
        ack.skewed = abs(device_ms - server_ms) > max_skew_ms
        runs = changes.runs if isinstance(changes, PreparedBatch) else _insert_runs(changes)
        for run in runs:
            if len(run) > 1 and _bulk_insert(
                conn, cur, run, branch, device_id, batch_no, server_ms, max_skew_ms, ack
            ):
                continue
            for ch in run:
                _apply_one_saved(
                    conn, cur, ch, branch, device_id, batch_no, server_ms, max_skew_ms, ack
                )
    return ack


RUN_LIMIT = 5000  # inserts sent in one set-based statement
PUSH_WORK_MEM = "64MB"  # for the pushing transaction (SET LOCAL)
# In sync_row_clocks.clocks: the clock of every field without one of its own (the insert's).
ALL_FIELDS = "*"


def _insert_runs(changes: list[Change]) -> list[list[Change]]:
    """The batch as runs: a stretch of consecutive inserts (a first push, an import, or what
    the program writes — a record and its audit entry, record after record) becomes one run per
    table, parent tables first (every row of the stretch is new, so foreign keys only need the
    tables in dependency order); every other change is a run of its own, in place. The
    set-based insert checks that a run's rows carry the same columns (else the run goes change
    by change)."""
    rank = {t.name: i for i, t in enumerate(cap.synced_tables())}
    runs: list[list[Change]] = []
    stretch: dict[str, list[Change]] = {}

    def close() -> None:
        for tbl in sorted(stretch, key=lambda n: rank.get(n, len(rank))):
            rows = stretch[tbl]
            runs.extend(rows[i : i + RUN_LIMIT] for i in range(0, len(rows), RUN_LIMIT))
        stretch.clear()

    for ch in changes:
        if ch.op == "I":
            stretch.setdefault(ch.tbl, []).append(ch)
        else:
            close()
            runs.append([ch])
    close()
    return runs


@dataclass
class _Payload:
    """What the set-based insert of a run sends: keys, values exactly as captured, and stamps,
    each as one text of lines (one line a row: no JSON container to parse at central, which
    splits them), plus what decides whether the stamps need clamping."""

    keys: list[str]
    pks: str
    values: str
    hlcs: str
    top: str  # the newest stamp's wall-clock part
    short: bool  # a stamp too short to be one (clamp decides, and refuses it)


def _lines(texts: list[str]) -> str | None:
    """The texts one per line; None when one holds a line break itself (captured JSON never
    does: a control character inside a JSON string is escaped)."""
    joined = "\n".join(texts)
    return joined if joined.count("\n") == len(texts) - 1 else None


def _payload(run: list[Change]) -> _Payload | None:
    """The run's payload, or None when it cannot go set-based by its shape: a change without
    values, rows whose columns differ."""
    texts = [ch.text() for ch in run]
    if any(x is None for x in texts):
        return None
    keys = list(run[0].values() or {})
    # every row must carry the first row's columns: the same number of them here (in the
    # capture's compact JSON a member starts with ',"' — inside a string a quote is always
    # escaped), all of them by name in the statement
    for ch in run:
        n = len(ch.cols) if ch.cols is not None else (ch.raw or "").count(',"') + 1
        if n != len(keys):
            return None
    hlcs = [ch.hlc for ch in run]
    pks, values, stamps = _lines([ch.pk for ch in run]), _lines(texts), _lines(hlcs)  # type: ignore[arg-type]
    if pks is None or values is None or stamps is None:
        return None
    return _Payload(
        keys=keys,
        pks=pks,
        values=values,
        hlcs=stamps,
        top=max(h[:16] for h in hlcs),
        short=any(len(h) < 28 for h in hlcs),
    )


class Run(list[Change]):
    """A run of a prepared batch, with its set-based payload made ahead (None: the run goes
    change by change)."""

    payload: _Payload | None


class PreparedBatch(list[Change]):
    """A batch's changes with their runs and payloads worked out ahead (``prepare``)."""

    runs: list[Run]


def prepare(changes: list[Change]) -> PreparedBatch:
    """The batch as ``push_batch`` applies it, its runs and payloads worked out now: a device
    prepares batch n+1 while central applies batch n. Nothing here depends on central."""
    batch = PreparedBatch(changes)
    batch.runs = []
    for changes_of_run in _insert_runs(changes):
        run = Run(changes_of_run)
        run.payload = _payload(run) if len(run) > 1 else None
        batch.runs.append(run)
    return batch


def _wire_select(t: Table, col: str, kind: str, obj: str) -> str:
    """SQL reading column ``col`` of a pushed row from its wire object ``obj`` (uuids, numbers,
    booleans 0/1, dates and times are read by the column type's own input; times are UTC)."""
    ctype = t.c[col].type.compile(dialect=postgresql.dialect())
    if kind == "datetime":
        return f"(({obj} ->> '{col}')::timestamp AT TIME ZONE 'UTC')"
    return f"(({obj} ->> '{col}')::{ctype})"


def _bulk_insert(
    conn: Any,
    cur: Any,
    run: list[Change],
    branch: uuid.UUID,
    device_id: str,
    batch_no: int,
    server_ms: int,
    max_skew_ms: int,
    ack: Ack,
) -> bool:
    """Insert a run of new rows set-based, in one statement under a savepoint: the rows travel
    as three texts of lines (keys, values as captured, stamps); PostgreSQL splits them, inserts
    the table's rows (row-level security checks every one: the branch role is the writer) and
    their change-log entries together (no sync_row_clocks rows: a new row's fields all carry the
    insert's clock, which its log entry holds). False (nothing written) when the run
    needs the one-change-at-a-time path: a row already known, an invalid change, rows whose
    columns differ."""
    import psycopg

    t = {t.name: t for t in cap.synced_tables()}.get(run[0].tbl)
    if t is None or not cap.is_captured(t):
        return False
    ledger = t.name in _append_only()
    payload = run.payload if isinstance(run, Run) else _payload(run)
    if payload is None:
        return False
    keys = payload.keys
    known = [k for k in keys if k in t.c]
    unknown = [k for k in keys if k not in t.c]
    if "id" not in known:
        return False
    # stamps as central ranks them: one from a clock too far ahead is pulled back (docs/sync.md)
    bound = server_ms + max_skew_ms
    limit = f"{bound:0{16}d}"
    hlcs_json = payload.hlcs
    if payload.top > limit or payload.short:
        hlcs: list[str] = []
        for ch in run:
            if ch.hlc[:16] > limit or len(ch.hlc) < 28:
                try:
                    eff, skewed = clamp(Stamp.decode(ch.hlc), server_ms, max_skew_ms)
                except ValueError:
                    return False
                ack.skewed = ack.skewed or skewed
                hlcs.append(eff.encode())
            else:
                hlcs.append(ch.hlc)
        hlcs_json = "\n".join(hlcs)
    kinds = cap.column_kinds(t.name)
    values = _with_defaults(t, dict.fromkeys(known))
    names = list(values)
    select: list[str] = []
    params: list[Any] = []
    for n in names:
        if n in known:
            select.append(_wire_select(t, n, kinds[n], "u.j"))
        else:
            select.append("%s")
            params.append(_pg_value(kinds[n], values[n]))
    # every row must have the run's columns. A NOT NULL column missing from a row fails the
    # statement by itself (->> gives NULL); only the nullable ones are looked up by name
    nullable = [k for k in known if t.c[k].nullable]
    cols_expr = "u.j - %s::text[]" if unknown else "u.j"
    sql = (
        "WITH u AS MATERIALIZED (SELECT u.ord, u.pk, u.j::jsonb AS j, u.hlc FROM ROWS FROM ("
        "unnest(string_to_array(%s, E'\\n')), unnest(string_to_array(%s, E'\\n')), "
        "unnest(string_to_array(%s, E'\\n'))) WITH ORDINALITY AS u(pk, j, hlc, ord)), "
        # every row has the first row's columns, or the statement fails (and the run goes
        # change by change, with defaults for what a row lacks)
        + (
            "chk AS (SELECT sync_refuse_run(count(*)) FROM u WHERE NOT (u.j ?& %s::text[])), "
            if nullable
            else ""
        )
        +
        # a key with clocks at central (a deleted row's tombstone; a live row fails on its
        # primary key anyway) sends the run change by change: delete wins there (ledger rows
        # are never deleted nor have clocks)
        "known AS (SELECT sync_refuse_run(count(*)) FROM u "
        f"JOIN sync_row_clocks r ON r.tbl = %s AND r.pk = u.pk{' AND false' if ledger else ''}), "
        f"ins AS (INSERT INTO {_q(t.name)} ({', '.join(_q(n) for n in names)}) "
        f"SELECT {', '.join(select)} FROM u "
        + ("WHERE (SELECT count(*) FROM chk) = 1 AND " if nullable else "WHERE ")
        + "(SELECT count(*) FROM known) = 1 "
        # in key order: the key index is walked from one place to the next instead of at
        # random (foreign keys are checked at the end of the statement, so order is free)
        f"ORDER BY {names.index('id') + 1} RETURNING 1)"
    )
    # three texts of lines: the captured objects are joined as they are (no parsing, no
    # per-value escaping on this side)
    args: list[Any] = [
        payload.pks,
        payload.values,
        hlcs_json,
        *([nullable] if nullable else []),
        t.name,
        *params,
    ]
    sql += (
        " INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc, device_id, batch_no) "
        f"SELECT %s, %s, u.pk, 'I', {cols_expr}, u.hlc, %s, %s FROM u "
        "WHERE (SELECT count(*) FROM ins) >= 0 ORDER BY u.ord"
    )
    args += [branch, t.name]
    if unknown:
        args.append(unknown)
    args += [device_id, batch_no]
    try:
        with conn.transaction():
            cur.execute(sql, args)
            if cur.rowcount != len(run):
                raise _Refuse("not every row was written")
    except (_Refuse, psycopg.Error):
        return False
    ack.applied += len(run)
    return True


def _apply_one_saved(
    conn: Any,
    cur: Any,
    ch: Change,
    branch: uuid.UUID,
    device_id: str,
    batch_no: int,
    server_ms: int,
    max_skew_ms: int,
    ack: Ack,
) -> None:
    """One change under its own savepoint; a refused one goes to the quarantine."""
    import psycopg

    try:
        with conn.transaction():
            _apply(cur, ch, branch, device_id, batch_no, server_ms, max_skew_ms, ack)
        ack.applied += 1
    except (_Refuse, psycopg.Error) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        # hook (issue 9, document numbers): say whose document holds the number
        from aftersales_desk.services.sync import central_documents

        reason = central_documents.refusal_reason(cur, ch, exc, branch, device_id) or reason
        cur.execute(
            "INSERT INTO sync_quarantine (branch_id, device_id, batch_no, tbl, pk, op, "
            "cols, hlc, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                branch,
                device_id,
                batch_no,
                ch.tbl,
                ch.pk,
                ch.op,
                _jsonb(ch.values()),
                ch.hlc,
                reason[:400],
            ),
        )
        ack.quarantined.append(Quarantined(ch.tbl, ch.pk, ch.op, ch.values(), ch.hlc, reason[:400]))


def _jsonb(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return None if value is None else Jsonb(value)


def _pg_value(kind: str, v: Any) -> Any:
    from psycopg.types.json import Json

    value = cap.from_wire(kind, v)
    if kind == "json" and v is not None:
        return Json(value)  # JSON null stays JSON null (not SQL NULL), as the desk has it
    return value


def _apply(
    cur: Any,
    ch: Change,
    branch: uuid.UUID,
    device_id: str,
    batch_no: int,
    server_ms: int,
    max_skew_ms: int,
    ack: Ack,
) -> None:
    tables = {t.name: t for t in cap.synced_tables()}
    t = tables.get(ch.tbl)
    if t is None:
        raise _Refuse(f"{ch.tbl} is not a synced table")
    if not cap.is_captured(t):
        raise _Refuse(f"{ch.tbl} is master data, read-only to branches")
    ledger = t.name in _append_only()
    if ledger and ch.op != "I":
        raise _Refuse(f"{ch.tbl} is append-only")
    try:
        stamp = Stamp.decode(ch.hlc)
    except ValueError as exc:
        raise _Refuse(str(exc)) from exc
    eff, skewed = clamp(stamp, server_ms, max_skew_ms)
    hlc = eff.encode()
    ack.skewed = ack.skewed or skewed
    kinds = cap.column_kinds(t.name)
    known = {c.name: c for c in t.c}
    cols = {k: v for k, v in (ch.values() or {}).items() if k in known}
    name = _q(t.name)

    def log(op: str, values: dict[str, Any] | None, origin: str | None) -> None:
        cur.execute(
            "INSERT INTO sync_changes (branch_id, tbl, pk, op, cols, hlc, device_id, batch_no) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (branch, t.name, ch.pk, op, _jsonb(values), hlc, origin, batch_no),
        )

    if ledger:
        _insert(cur, t, cols)
        log("I", cols, device_id)
        return
    cur.execute(
        "SELECT clocks, deleted_hlc FROM sync_row_clocks WHERE tbl = %s AND pk = %s FOR UPDATE",
        (t.name, ch.pk),
    )
    row = cur.fetchone()
    if row is None:
        # a row only inserted so far: every field has its insert's clock (from the log); the
        # row's first edit or delete keeps the clocks from here on
        inserted = _insert_clock(cur, t.name, ch.pk)
        if inserted is not None:
            row = ({ALL_FIELDS: inserted}, None)
            cur.execute(
                "INSERT INTO sync_row_clocks (tbl, pk, branch_id, clocks) VALUES (%s, %s, %s, %s)",
                (t.name, ch.pk, branch, _jsonb(row[0])),
            )
    if ch.op == "D":
        if row is None or row[1] is not None:
            return  # already gone: deleting twice changes nothing
        cur.execute(f"DELETE FROM {name} WHERE id = %s", (cap.from_wire("uuid", ch.pk),))
        cur.execute(
            "UPDATE sync_row_clocks SET deleted_hlc = %s WHERE tbl = %s AND pk = %s",
            (hlc, t.name, ch.pk),
        )
        log("D", None, device_id)
        return
    if row is None:
        if ch.op != "I":
            raise _Refuse("the row is not on central (its insert was refused or never sent)")
        _insert(cur, t, cols)  # its clock is the log entry's (no sync_row_clocks row)
        log("I", cols, device_id)
        return
    clocks, deleted_hlc = row
    if deleted_hlc is not None:
        # Delete wins: an edit of a row deleted elsewhere is dropped (and shown for review).
        for col, value in cols.items():
            ack.conflicts.append(Conflict(t.name, ch.pk, col, None, value, deleted_hlc, hlc))
            _record_conflict(cur, branch, device_id, batch_no, ack.conflicts[-1])
        return
    names = list(cols)
    cur.execute(
        f"SELECT {', '.join(_q(c) for c in names) or '1'} FROM {name} WHERE id = %s",
        (cap.from_wire("uuid", ch.pk),),
    )
    current = cur.fetchone()
    if current is None:
        raise _Refuse("the row is not visible to this branch")
    base = ch.base or {}
    win: dict[str, Any] = {}
    # Columns the program sets by itself on every write (updated_at) follow the clock without
    # being reported as conflicts.
    auto = {c.name for c in t.c if c.onupdate is not None}
    for col, cur_value in zip(names, current, strict=True):
        kind = kinds[col]
        value = cols[col]
        central_value = cap.to_wire(kind, cur_value)
        old = clocks.get(col, clocks.get(ALL_FIELDS))
        wins = old is None or hlc > old
        if wins:
            win[col] = value
        if (
            col in base
            and col not in auto
            and old is not None
            and old.rsplit("-", 1)[-1] != eff.node
            and not _same(kind, central_value, base[col])
            and not _same(kind, central_value, value)
        ):
            conflict = Conflict(
                t.name,
                ch.pk,
                col,
                value if wins else central_value,
                central_value if wins else value,
                hlc if wins else old,
                old if wins else hlc,
            )
            ack.conflicts.append(conflict)
            _record_conflict(cur, branch, device_id, batch_no, conflict)
    if not win:
        return
    sets = ", ".join(f"{_q(c)} = %s" for c in win)
    cur.execute(
        f"UPDATE {name} SET {sets} WHERE id = %s",
        [_pg_value(kinds[c], v) for c, v in win.items()] + [cap.from_wire("uuid", ch.pk)],
    )
    if cur.rowcount != 1:
        raise _Refuse("the row is not visible to this branch")
    cur.execute(
        "UPDATE sync_row_clocks SET clocks = clocks || %s WHERE tbl = %s AND pk = %s",
        (_jsonb({c: hlc for c in win}), t.name, ch.pk),
    )
    log("U", win, device_id)


def _insert_clock(cur: Any, tbl: str, pk: str) -> str | None:
    """The clock of the row's (latest) insert in the change log, or None when central never
    took the row in."""
    cur.execute(
        "SELECT hlc FROM sync_changes WHERE pk = %s AND op = 'I' AND tbl = %s "
        "ORDER BY seq DESC LIMIT 1",
        (pk, tbl),
    )
    found = cur.fetchone()
    return None if found is None else str(found[0])


def _with_defaults(t: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The values plus the model's defaults for the columns a change does not carry (an older
    device, device-local columns), in the table's column order."""
    kinds = cap.column_kinds(t.name)
    out: dict[str, Any] = {}
    for c in t.c:
        if c.name in values:
            out[c.name] = values[c.name]
        else:
            default = cap.python_default(c)
            if default is not None:
                out[c.name] = cap.to_wire(kinds[c.name], default)
    return out


def _insert(cur: Any, t: Table, values: dict[str, Any]) -> None:
    kinds = cap.column_kinds(t.name)
    values = _with_defaults(t, values)
    names = list(values)
    cur.execute(
        f"INSERT INTO {_q(t.name)} ({', '.join(_q(n) for n in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))})",
        [_pg_value(kinds[n], values[n]) for n in names],
    )


def _record_conflict(
    cur: Any, branch: uuid.UUID, device_id: str, batch_no: int, c: Conflict
) -> None:
    cur.execute(
        "INSERT INTO sync_conflicts (branch_id, tbl, pk, col, kept_value, lost_value, kept_hlc, "
        "lost_hlc, device_id, batch_no) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "RETURNING id",
        (
            branch,
            c.tbl,
            c.pk,
            c.col,
            _jsonb(c.kept_value),
            _jsonb(c.lost_value),
            c.kept_hlc,
            c.lost_hlc,
            device_id,
            batch_no,
        ),
    )
    c.id = int(cur.fetchone()[0])


# --- pulling ----------------------------------------------------------------------------------


@dataclass
class PulledChange:
    xid: str
    seq: int
    tbl: str
    pk: str
    op: str
    cols: dict[str, Any] | None
    hlc: str


def pull_page(
    conn: Any, *, cursor: tuple[str, int], limit: int, protocol: int, revision: str
) -> list[PulledChange]:
    """The next changes after ``cursor`` (xid, seq) that every device of the branch may see,
    in commit order. Only changes of transactions older than the oldest one still running are
    handed out (``pg_snapshot_xmin``), so one that commits late is not skipped: it holds back
    the later ones until it is done."""
    with conn.transaction(), conn.cursor() as cur:
        _request(cur, protocol, revision)
        cur.execute(
            "SELECT xid::text, seq, tbl, pk, op, cols, hlc FROM sync_changes "
            "WHERE (xid, seq) > (%s::xid8, %s) "
            "AND xid < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY xid, seq LIMIT %s",
            (cursor[0], cursor[1], limit),
        )
        return [PulledChange(*r) for r in cur.fetchall()]


# --- a snapshot for a new desk ----------------------------------------------------------------

SNAPSHOT_FETCH = 20_000  # rows per fetch of the snapshot's server-side cursor


def _snapshot_order(t: Table) -> str:
    """A branch's rows in key order (the server reads the key's index, at once): the desk's key
    index then grows at its end instead of at random places, a fifth to a third less work per
    stored row. Master tables keep central's order: they are small, and a desk takes the
    first row of ``branches`` as its own branch (``bootstrap.local_actor``, ``data/peek``), which
    key order would make another branch's on a desk that has several."""
    return "" if cap.classify(t) == "master" else f" ORDER BY {_q('id')}"


def snapshot(
    conn: Any,
    *,
    protocol: int,
    revision: str,
    columns: Callable[[Table], list[str] | None],
    sink: Callable[[Table, list[str], Iterator[list[tuple[Any, ...]]]], int],
    max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
) -> tuple[tuple[str, int], str]:
    """Every row the session's branch may read (row-level security decides), table by table in
    dependency order, in wire form, from ONE repeatable-read snapshot, streamed through a
    server-side cursor in large fetches (rows are made by psycopg's C loaders; a COPY stream
    comes as one message per row, which costs more here). ``columns(table)`` names the columns
    to send (None: skip the table); ``sink(table, columns, chunks)`` stores them, chunk by
    chunk. Returns the pull cursor that goes with
    the snapshot, and the newest clock stamp in it (within the skew bound) for the device's
    floor.

    The cursor is ``(xmin of the snapshot, 0)``: every transaction below the snapshot's xmin had
    ended when it was taken, so its changes are in the rows; the pull after it starts with the
    oldest transaction that might still have been running, so a change committed later is never
    missed. A transaction that had committed while an older one was still running is in the
    rows and is pulled once more; applying a pulled change is idempotent (upserts of the same
    values, ledgers insert-or-ignore), so that replay changes nothing."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SET LOCAL DateStyle = 'ISO, YMD'")  # the text form _pg_snapshot_text reads
        row = _request(
            cur,
            protocol,
            revision,
            "pg_snapshot_xmin(pg_current_snapshot())::text, "
            "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint",
        )
        xmin, server_ms = str(row[2]), int(row[3])
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        central_cols: dict[str, set[str]] = {}
        for tname, cname in cur.fetchall():
            central_cols.setdefault(tname, set()).add(cname)
        for t in cap.synced_tables():
            wanted = columns(t)
            if not wanted or t.name not in central_cols:
                continue
            names = [c for c in wanted if c in central_cols[t.name]]
            kinds = cap.column_kinds(t.name)
            select = ", ".join(
                _pg_snapshot_text(_q(n), kinds[n])
                if kinds[n] != "datetime" or _zoned(t.c[n])
                else _pg_wire(_q(n), kinds[n])  # a timestamp without zone: as everywhere
                for n in names
            )
            with conn.cursor(name=f"sync_snapshot_{t.name}") as rows:
                rows.execute(f"SELECT {select} FROM {_q(t.name)}{_snapshot_order(t)}")
                sink(t, names, iter(lambda rows=rows: rows.fetchmany(SNAPSHOT_FETCH), []))
        bound = f"{server_ms + max_skew_ms:016d}"
        cur.execute("SELECT max(hlc) FROM sync_changes WHERE hlc < %s", (bound,))
        top = cur.fetchone()[0] or ""
    return (xmin, 0), top
