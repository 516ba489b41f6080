import { type Kysely, sql } from "kysely"
import type { MigrationContext } from "./types.js"

/** The function's name for a table prefix: the store calls it by this name. */
export const commitFunction = (prefix: string) => `${prefix}commit_v1`

const EVENT = [
  "id",
  "tenant",
  "subject",
  "seq",
  "purpose",
  "action",
  "notice_version",
  "occurred_at",
  "recorded_at",
  "source",
  "actor_kind",
  "actor_id",
  "evidence",
  "jurisdiction",
  "subject_age",
  "expires_at",
  "command_id",
  "salt",
  "personal_digest",
  "prev_hash",
  "hash",
  "erased",
].join(", ")
const STATE_VALUES = [
  "status",
  "notice_version",
  "occurred_at",
  "expires_at",
  "event_id",
  "seq",
  "source",
  "actor",
  "guardian_granted",
]
const STATE = ["tenant", "subject", "purpose", ...STATE_VALUES].join(", ")
const OUTBOX = [
  "tenant",
  "subject",
  "adapter",
  "intent_id",
  "kind",
  "intent",
  "status",
  "attempts",
  "available_at",
  "lease_owner",
  "lease_until",
  "last_error",
  "created_at",
  "delivered_at",
].join(", ")

/**
 * The body of a subject's write on PostgreSQL, as one function the store calls in one
 * statement (one round trip and, outside a transaction, one commit). It is handed everything the
 * transaction would have written, as JSON, and first checks that the subject is still at the
 * state the caller read (its row's seq and head): if another writer got there first it raises a
 * serialization failure (SQLSTATE 40001) and writes nothing, so the store reads again and
 * retries. The proof log is appended here, under the tenant's log-head lock, so the lock is held
 * for this one statement and its commit only; the node hashes are RFC 9162's, computed with
 * PostgreSQL's sha256 exactly as `MerkleLog.append` does.
 *
 * A later migration that adds a column to one of these tables must replace this function (or add
 * a `commit_v2` the store calls instead).
 */
const body = (prefix: string) => {
  const t = (name: string) => `${prefix}${name}`
  return `create or replace function ${commitFunction(prefix)}(doc jsonb) returns bigint language plpgsql as $$
declare
  tn text := doc->>'tenant';
  sj text := doc->>'subject';
  expect jsonb := doc->'expect';
  next jsonb := nullif(doc->'next', 'null'::jsonb);
  n bigint;
  pos bigint := null;
  h_size bigint;
  h_range text;
  hashes bytea[];
  entry jsonb;
  leaf bytea;
  sz bigint;
  lvl int;
begin
  -- The subject is where the caller read it, or nothing is written.
  if (expect->>'exists')::boolean then
    update ${t("subject")} set
      seq = case when next is null then seq else (next->>'seq')::int end,
      head = case when next is null then head else next->>'head' end,
      jurisdiction = case when next is null then jurisdiction else next->>'jurisdiction' end,
      age = case when next is null then age else (next->>'age')::int end
    where tenant = tn and subject = sj
      and seq is not distinct from (expect->>'seq')::int
      and head is not distinct from expect->>'head';
  else
    insert into ${t("subject")} (tenant, subject, seq, head, jurisdiction, age, created_at)
    values (tn, sj, (next->>'seq')::int, next->>'head', next->>'jurisdiction', (next->>'age')::int,
      (doc->>'now')::bigint)
    on conflict do nothing;
  end if;
  get diagnostics n = row_count;
  if n <> 1 then
    raise exception 'consentkit: the subject changed since it was read' using errcode = '40001';
  end if;

  if jsonb_typeof(doc->'dataKey') = 'object' then
    insert into ${t("data_key")} (tenant, subject, key_id, data_key, created_at)
    select tenant, subject, key_id, data_key, created_at
    from jsonb_populate_record(null::${t("data_key")}, doc->'dataKey');
  end if;
  if jsonb_array_length(doc->'events') > 0 then
    insert into ${t("event")} (${EVENT})
    select ${EVENT} from jsonb_populate_recordset(null::${t("event")}, doc->'events');
  end if;
  if jsonb_array_length(doc->'stateInserts') > 0 then
    insert into ${t("state")} (${STATE})
    select ${STATE} from jsonb_populate_recordset(null::${t("state")}, doc->'stateInserts');
  end if;
  if jsonb_array_length(doc->'stateUpdates') > 0 then
    update ${t("state")} s set ${STATE_VALUES.map((c) => `${c} = u.${c}`).join(", ")}
    from jsonb_populate_recordset(null::${t("state")}, doc->'stateUpdates') u
    where s.tenant = u.tenant and s.subject = u.subject and s.purpose = u.purpose;
  end if;
  if jsonb_array_length(doc->'stateDeletes') > 0 then
    delete from ${t("state")} where tenant = tn and subject = sj
      and purpose in (select jsonb_array_elements_text(doc->'stateDeletes'));
  end if;
  if jsonb_array_length(doc->'outbox') > 0 then
    insert into ${t("outbox")} (${OUTBOX})
    select ${OUTBOX} from jsonb_populate_recordset(null::${t("outbox")}, doc->'outbox');
  end if;
  if jsonb_typeof(doc->'command') = 'object' then
    insert into ${t("command")} (tenant, key, subject, command_id, recorded_at, event_ids, receipt)
    select tenant, key, subject, command_id, recorded_at, event_ids, receipt
    from jsonb_populate_record(null::${t("command")}, doc->'command')
    on conflict (tenant, key) do update set subject = excluded.subject, command_id = excluded.command_id,
      recorded_at = excluded.recorded_at, event_ids = excluded.event_ids, receipt = excluded.receipt;
  end if;
  if jsonb_array_length(doc->'aliases') > 0 then
    insert into ${t("alias")} (tenant, kind, value, subject)
    select tn, a->>'kind', a->>'value', sj from jsonb_array_elements(doc->'aliases') a
    on conflict (tenant, kind, value) do update set subject = excluded.subject;
  end if;

  -- The proof log: the tenant's head row is its sequencer, locked until this commits.
  if jsonb_array_length(doc->'log') > 0 then
    insert into ${t("log_head")} (tenant, size, range) values (tn, 0, '[]') on conflict do nothing;
    select size, range into h_size, h_range from ${t("log_head")} where tenant = tn for update;
    hashes := array(select decode(x, 'hex') from jsonb_array_elements_text(h_range::jsonb) with ordinality as r(x, o) order by o);
    for entry in select e from jsonb_array_elements(doc->'log') as e loop
      insert into ${t("log_entry")} (tenant, idx, kind, ref, entry, leaf_hash)
      values (tn, h_size, entry->>'kind', entry->>'ref', entry->>'entry', entry->>'leafHash');
      leaf := decode(entry->>'leafHash', 'hex');
      sz := h_size;
      lvl := 0;
      -- Each trailing 1 bit of the size is a perfect subtree of the same height to merge with.
      while sz % 2 = 1 loop
        leaf := sha256('\\x01'::bytea || hashes[cardinality(hashes)] || leaf);
        hashes := hashes[1:cardinality(hashes) - 1];
        sz := sz / 2;
        lvl := lvl + 1;
        insert into ${t("log_node")} (tenant, level, idx, hash) values (tn, lvl, h_size >> lvl, encode(leaf, 'hex'));
      end loop;
      hashes := hashes || leaf;
      h_size := h_size + 1;
    end loop;
    update ${t("log_head")} set size = h_size,
      range = '[' || coalesce((select string_agg('"' || encode(h, 'hex') || '"', ',' order by o)
        from unnest(hashes) with ordinality as r(h, o)), '') || ']'
    where tenant = tn;
  end if;

  -- The change feed, and the notifications delivered at commit.
  if jsonb_typeof(doc->'change') = 'object' then
    insert into ${t("change")} (tenant, subject, seq, kind, recorded_at)
    values (tn, sj, (doc->'change'->>'seq')::int, 'write', (doc->>'now')::bigint)
    returning position into pos;
    if doc->>'changes' is not null then
      perform pg_notify(doc->>'changes', pos::text || E'\\t' || (jsonb_build_array(tn, sj, (doc->'change'->>'seq')::int, 'write'))::text);
    end if;
  end if;
  if doc->>'work' is not null then
    perform pg_notify(doc->>'work', '');
  end if;
  return pos;
end $$`
}

/**
 * PostgreSQL's one-round-trip write: a function that checks the subject is unchanged since it
 * was read and then does every write of a command, the proof-log append included (see `body`).
 * Nothing on SQLite or MySQL, whose stores keep the transaction.
 */
export const oneTripRecord = {
  up: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    if (dialect !== "postgres") return
    await sql.raw(body(prefix)).execute(db)
  },

  down: async (db: Kysely<unknown>, { prefix, dialect }: MigrationContext): Promise<void> => {
    if (dialect !== "postgres") return
    await sql.raw(`drop function if exists ${commitFunction(prefix)}(jsonb)`).execute(db)
  },
}
