-- A subscriber database as simreg's schema version 1 wrote it: one IMPI
-- per subscription, no derived IMPIs, no registration table. Frozen: the
-- upgrade test opens it with the current code and checks what survives.
CREATE TABLE subscription (
  id INTEGER PRIMARY KEY,
  k BLOB NOT NULL CHECK (length(k) = 16),
  op BLOB NOT NULL CHECK (length(op) = 16),
  op_is_opc INTEGER NOT NULL CHECK (op_is_opc IN (0, 1)),
  amf BLOB NOT NULL CHECK (length(amf) = 2),
  sqn INTEGER NOT NULL CHECK (sqn BETWEEN 0 AND 281474976710655),
  auth_scheme TEXT NOT NULL,
  roaming_allowed INTEGER NOT NULL DEFAULT 0,
  scscf_name TEXT NOT NULL DEFAULT '',
  auth_pending INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE impi (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE
);
CREATE INDEX impi_subscription ON impi (subscription_id);
CREATE TABLE impu (
  id INTEGER PRIMARY KEY,
  uri TEXT NOT NULL UNIQUE,
  subscription_id INTEGER NOT NULL REFERENCES subscription(id) ON DELETE CASCADE,
  irs INTEGER NOT NULL CHECK (irs >= 1),
  position INTEGER NOT NULL CHECK (position >= 0),
  barred INTEGER NOT NULL DEFAULT 0,
  unreg_services INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2)
);
CREATE INDEX impu_subscription ON impu (subscription_id, irs, position);

-- alice: registered at scscf.ims.test (both sets' IMPUs of set 1)
INSERT INTO subscription VALUES (1, X'465b5ce8b199b49faa5f0a2ee238a6bc',
  X'cd63cb71954a9f4e48a5994e37a02baf', 1, X'8000', 4128, 'Digest-AKAv1-MD5', 0,
  'sip:scscf.ims.test:6060', 0);
INSERT INTO impi VALUES (1, 'alice@ims.test', 1);
INSERT INTO impu VALUES (1, 'sip:alice@ims.test', 1, 1, 0, 0, 0, 1);
INSERT INTO impu VALUES (2, 'tel:+15551230001', 1, 1, 1, 0, 0, 1);
INSERT INTO impu VALUES (3, 'sip:alice-work@ims.test', 1, 2, 0, 1, 0, 0);
-- bob: never registered, provisioned with OP rather than OPc
INSERT INTO subscription VALUES (2, X'000102030405060708090a0b0c0d0e0f',
  X'00112233445566778899aabbccddeeff', 0, X'0000', 0, 'Digest-AKAv1-MD5', 1, '', 0);
INSERT INTO impi VALUES (2, 'bob@ims.test', 2);
INSERT INTO impu VALUES (4, 'sip:bob@ims.test', 2, 1, 0, 0, 0, 0);
PRAGMA user_version = 1;
