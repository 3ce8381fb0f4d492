using System.Text;
using PgRouter.Pooling;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class StatementClassifierTests
{
    private static StatementKind Classify(string sql) => StatementClassifier.Classify(Encoding.UTF8.GetBytes(sql), out _);

    private static StatementKind Classify(string sql, out string? reason) => StatementClassifier.Classify(Encoding.UTF8.GetBytes(sql), out reason);

    [Theory]
    [InlineData("SET search_path = app")]
    [InlineData("set search_path to app")]
    [InlineData("SET SESSION statement_timeout = '5s'")]
    [InlineData("SET TIME ZONE 'UTC'")]
    [InlineData("SET ROLE app_reader")]
    [InlineData("  \r\n\tSET application_name = 'x'")]
    [InlineData("/* from the ORM */ SET search_path = app")]
    [InlineData("-- note\nSET search_path = app")]
    [InlineData("SET search_path = app;")]
    [InlineData("SET search_path = app ;  \n")]
    [InlineData("SET search_path = app; -- trailing comment")]
    [InlineData("RESET search_path")]
    [InlineData("reset statement_timeout;")]
    [InlineData("SET application_name = 'a;b'")]
    [InlineData("SET application_name = E'it\\'s; fine'")]
    [InlineData("SET application_name = $$x; LISTEN y$$")]
    [InlineData("SET application_name = $tag$x;$ y$tag$")]
    [InlineData("/* a /* nested; */ comment */ SET search_path = app")]
    [InlineData("SET \"application_name\" = 'x'")]
    public void Set_AndReset_AreSessionSettings(string sql)
    {
        Assert.Equal(StatementKind.SessionSetting, Classify(sql, out string? reason));
        Assert.Null(reason);
    }

    [Theory]
    [InlineData("SET LOCAL search_path = app")]
    [InlineData("set local statement_timeout = 0")]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")]
    [InlineData("SET CONSTRAINTS ALL DEFERRED")]
    public void Set_LocalTransactionAndConstraints_AreNotSessionSettings(string sql)
    {
        Assert.Equal(StatementKind.Ordinary, Classify(sql));
    }

    [Theory]
    [InlineData("RESET ALL")]
    [InlineData("reset all;")]
    [InlineData("DISCARD ALL")]
    [InlineData("/* pool */ discard all")]
    public void ResetAll_AndDiscardAll_ResetTheSession(string sql)
    {
        Assert.Equal(StatementKind.ResetAll, Classify(sql));
    }

    [Theory]
    [InlineData("SAVEPOINT a")]
    [InlineData("release savepoint a")]
    [InlineData("RELEASE a")]
    [InlineData("ROLLBACK TO a")]
    [InlineData("rollback to savepoint a;")]
    [InlineData("ROLLBACK WORK TO SAVEPOINT \"A b\"")]
    public void Savepoints_AreTracked(string sql)
    {
        Assert.Equal(StatementKind.Savepoint, Classify(sql));
    }

    [Theory]
    [InlineData("ROLLBACK")]
    [InlineData("ROLLBACK AND NO CHAIN")]
    [InlineData("ROLLBACK PREPARED 'tx'")]
    public void Rollback_WithoutTo_IsOrdinary(string sql)
    {
        Assert.Equal(StatementKind.Ordinary, Classify(sql));
    }

    [Theory]
    [InlineData("DISCARD PLANS")]
    [InlineData("DISCARD SEQUENCES")]
    public void Discard_OtherThanAll_IsOrdinary(string sql)
    {
        Assert.Equal(StatementKind.Ordinary, Classify(sql));
    }

    [Theory]
    [InlineData("SET search_path = app; SELECT 1")]
    [InlineData("SET a.b = 1; SET a.c = 2")]
    [InlineData("RESET search_path; SELECT 1")]
    public void Set_FollowedByAnotherStatement_PinsTheSession(string sql)
    {
        Assert.Equal(StatementKind.PinsSession, Classify(sql, out string? reason));
        Assert.Equal("SET inside a multi-statement query", reason);
    }

    [Theory]
    [InlineData("SELECT set_config('search_path', 'app', false)")]
    [InlineData("SELECT SET_CONFIG('search_path', 'app', false)")]
    [InlineData("select 1, set_config('a.b', '1', true)")]
    public void SetConfig_MakesSettingsUnknown(string sql)
    {
        Assert.Equal(StatementKind.SettingsUnknown, Classify(sql));
    }

    [Theory]
    [InlineData("LISTEN jobs", "LISTEN")]
    [InlineData("listen jobs", "LISTEN")]
    [InlineData("UNLISTEN *", "LISTEN")]
    [InlineData("PREPARE q AS SELECT 1", "SQL-level prepared statement")]
    [InlineData("EXECUTE q", "SQL-level prepared statement")]
    [InlineData("DEALLOCATE q", "SQL-level prepared statement")]
    [InlineData("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "cursor WITH HOLD")]
    [InlineData("declare c cursor with hold for select 1", "cursor WITH HOLD")]
    [InlineData("CREATE TEMP TABLE t (id int)", "temporary table")]
    [InlineData("create temporary table t (id int)", "temporary table")]
    [InlineData("CREATE LOCAL TEMP TABLE t (id int)", "temporary table")]
    [InlineData("CREATE GLOBAL TEMPORARY TABLE t (id int)", "temporary table")]
    [InlineData("CREATE TEMP VIEW v AS SELECT 1", "temporary table")]
    [InlineData("LOAD 'auto_explain'", "LOAD")]
    [InlineData("SELECT pg_advisory_lock(42)", "session advisory lock")]
    [InlineData("SELECT pg_try_advisory_lock(42)", "session advisory lock")]
    [InlineData("SELECT PG_ADVISORY_LOCK_SHARED(42)", "session advisory lock")]
    [InlineData("  /* c */ -- d\n LISTEN jobs", "LISTEN")]
    [InlineData("LISTEN a; SELECT 1", "LISTEN")]
    public void SessionState_PinsTheSession(string sql, string why)
    {
        Assert.Equal(StatementKind.PinsSession, Classify(sql, out string? reason));
        Assert.Equal(why, reason);
    }

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("-- only a comment")]
    [InlineData("INSERT INTO settings (name) VALUES ('x')")]
    [InlineData("UPDATE t SET a = 1")]
    [InlineData("PREPARE TRANSACTION 'tx1'")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("CREATE TABLE t (id int)")]
    [InlineData("CREATE UNLOGGED TABLE t (id int)")]
    [InlineData("SELECT pg_advisory_xact_lock(42)")]
    [InlineData("SELECT pg_advisory_unlock(42)")]
    [InlineData("SETTINGS")]
    [InlineData("BEGIN")]
    public void OrdinaryStatements_AreOrdinary(string sql)
    {
        Assert.Equal(StatementKind.Ordinary, Classify(sql, out string? reason));
        Assert.Null(reason);
    }

    // PostgreSQL runs every statement of a simple query: a SET after another statement changes the session just the same.
    [Theory]
    [InlineData("SELECT 1; SET search_path = app")]
    [InlineData("BEGIN; SET search_path = app; COMMIT")]
    [InlineData("SELECT 1; LISTEN jobs")]
    [InlineData("BEGIN; CREATE TEMP TABLE t (id int); COMMIT")]
    public void SessionState_AfterAnotherStatement_IsNotOrdinary(string sql)
    {
        Assert.NotEqual(StatementKind.Ordinary, Classify(sql));
    }

    // Keywords and function names are case-insensitive in PostgreSQL, and any white space separates words.
    [Theory]
    [InlineData("SELECT Set_Config('search_path', 'app', false)", nameof(StatementKind.SettingsUnknown))]
    [InlineData("DECLARE c CURSOR With Hold FOR SELECT 1", nameof(StatementKind.PinsSession))]
    [InlineData("DECLARE c CURSOR WITH\n  HOLD FOR SELECT 1", nameof(StatementKind.PinsSession))]
    [InlineData("SELECT Pg_Advisory_Lock(42)", nameof(StatementKind.PinsSession))]
    public void MixedCaseAndSpacing_AreRecognised(string sql, string expected)
    {
        Assert.Equal(Enum.Parse<StatementKind>(expected), Classify(sql));
    }

    // Each of these creates a temporary relation that outlives the transaction on that server session.
    [Theory]
    [InlineData("CREATE OR REPLACE TEMP VIEW v AS SELECT 1")]
    [InlineData("SELECT 1 AS a INTO TEMP t")]
    [InlineData("CREATE TABLE pg_temp.t (id int)")]
    public void OtherFormsOfTemporaryRelations_PinTheSession(string sql)
    {
        Assert.Equal(StatementKind.PinsSession, Classify(sql));
    }

    [Theory]
    [InlineData("DEALLOCATE q", "q")]
    [InlineData("deallocate prepare q", "q")]
    [InlineData("DEALLOCATE MyStmt", "mystmt")]
    [InlineData("DEALLOCATE \"MyStmt\"", "MyStmt")]
    [InlineData("DEALLOCATE \"a\"\"b\"", "a\"b")]
    [InlineData("DEALLOCATE \"all\"", "all")]
    [InlineData("DEALLOCATE \"ALL\"", "ALL")]
    [InlineData("DEALLOCATE \"has space; and semicolon\"", "has space; and semicolon")]
    [InlineData("DEALLOCATE s_1$x", "s_1$x")]
    [InlineData("DEALLOCATE ÄBC", "Äbc")]
    [InlineData("  /* c */ DEALLOCATE q ; -- bye", "q")]
    [InlineData("DEALLOCATE PREPARE\n\tq;", "q")]
    public void TryReadDeallocate_ReadsTheNameFoldedAsPostgreSqlDoes(string sql, string name)
    {
        Assert.True(StatementClassifier.TryReadDeallocate(Encoding.UTF8.GetBytes(sql), out string? read));
        Assert.Equal(name, read);
    }

    [Theory]
    [InlineData("DEALLOCATE ALL")]
    [InlineData("deallocate all;")]
    [InlineData("DEALLOCATE PREPARE ALL")]
    public void TryReadDeallocate_All_HasNoName(string sql)
    {
        Assert.True(StatementClassifier.TryReadDeallocate(Encoding.UTF8.GetBytes(sql), out string? name));
        Assert.Null(name);
    }

    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("DEALLOCATE")]
    [InlineData("DEALLOCATE ;")]
    [InlineData("DEALLOCATE q; SELECT 1")]
    [InlineData("DEALLOCATE q r")]
    [InlineData("DEALLOCATE \"unterminated")]
    [InlineData("DEALLOCATE \"\"")]
    [InlineData("DEALLOCATEq")]
    [InlineData("PREPARE q AS SELECT 1")]
    public void TryReadDeallocate_OtherStatements_AreNotADeallocate(string sql)
    {
        Assert.False(StatementClassifier.TryReadDeallocate(Encoding.UTF8.GetBytes(sql), out string? name));
        Assert.Null(name);
    }

    [Theory]
    [InlineData("SELECT 'LISTEN x; SET y = 1'")]
    [InlineData("SELECT $1::text, \"set_config\"")]
    [InlineData("SELECT $fn$ select pg_advisory_lock(1) $fn$")]
    [InlineData("-- LISTEN x\nSELECT 1")]
    [InlineData("CREATE TABLE temp (id int)")]
    [InlineData("SELECT pg_advisory_xact_lock(1)")]
    public void WordsInsideLiteralsQuotesAndComments_DoNotCount(string sql)
    {
        Assert.Equal(StatementKind.Ordinary, Classify(sql));
    }
}
