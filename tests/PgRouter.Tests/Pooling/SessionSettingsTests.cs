using System.Text;
using PgRouter.Pooling;
using PgRouter.Protocol;
using Xunit;

namespace PgRouter.Tests.Pooling;

public class SessionSettingsTests
{
    private static SessionSettings Settings(params (string Name, string Value)[] parameters)
    {
        var startup = new StartupParameters();
        startup.Set("user", "alice");
        startup.Set("database", "app");
        foreach (var (name, value) in parameters)
        {
            startup.Set(name, value);
        }
        return new SessionSettings(startup);
    }

    private static bool Record(SessionSettings settings, string sql) => settings.Record(Encoding.UTF8.GetBytes(sql));

    private static string Sql(params string[] statements) => string.Join("\n;", [SessionSettings.ResetSql, .. statements]);

    [Fact]
    public void LoginParametersOnly_NeedNoSetup()
    {
        var settings = Settings(("replication", "false"), ("options", "--no-such-form"));

        Assert.Equal(0UL, settings.Fingerprint);
        Assert.Equal("", settings.SetupSql);
    }

    [Fact]
    public void StartupParameters_AreSetAfterResetAll_OptionsSettingsFirst()
    {
        var settings = Settings(("application_name", "psql"), ("DateStyle", "ISO, MDY"), ("options", "-c search_path=app --statement-timeout=5s"));

        Assert.Equal(Sql("SET \"search_path\" TO 'app'", "SET \"statement_timeout\" TO '5s'",
            "SET \"application_name\" TO 'psql'", "SET \"DateStyle\" TO 'ISO, MDY'"), settings.SetupSql);
        Assert.NotEqual(0UL, settings.Fingerprint);
        Assert.Equal(1UL, settings.Fingerprint & 1);
    }

    [Fact]
    public void StartupValues_AreQuotedAsStringLiterals()
    {
        Assert.Equal(Sql("SET \"application_name\" TO 'O''Brien'';DROP'"), Settings(("application_name", "O'Brien';DROP")).SetupSql);
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("x\";DROP TABLE t;--")]
    [InlineData("a-b")]
    public void StartupParameters_WithNamesThatAreNotConfigurationNames_AreLeftOut(string name)
    {
        Assert.Equal("", Settings((name, "1")).SetupSql);
    }

    [Fact]
    public void SameSettings_GiveTheSameFingerprint_OtherSettingsAnother()
    {
        var a = Settings(("application_name", "psql"));
        var b = Settings(("application_name", "psql"));
        var c = Settings(("application_name", "pgbench"));
        Record(a, "SET search_path = app");
        Record(b, "SET search_path = app");

        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.NotEqual(a.Fingerprint, c.Fingerprint);
        Record(b, "SET search_path = other");
        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
    }

    [Fact]
    public void Set_IsReplayedAfterStartupParameters_TrimmedOfItsSemicolon()
    {
        var settings = Settings(("application_name", "psql"));

        Assert.True(Record(settings, "  SET search_path = app ;  \n"));

        Assert.Equal(Sql("SET \"application_name\" TO 'psql'", "SET search_path = app"), settings.SetupSql);
    }

    [Fact]
    public void Set_OfTheSameParameter_ReplacesTheEarlierOne_WhateverItsCaseOrQuoting()
    {
        var settings = Settings();
        Record(settings, "SET search_path = a");
        Record(settings, "SET statement_timeout = 0");
        Record(settings, "set SEARCH_PATH to b");
        Record(settings, "SET \"search_path\" = c");

        Assert.Equal(Sql("SET statement_timeout = 0", "SET \"search_path\" = c"), settings.SetupSql);
    }

    [Theory]
    [InlineData("SET TIME ZONE 'UTC'", "SET timezone = 'Europe/Paris'")]
    [InlineData("SET SCHEMA 'app'", "SET search_path TO app")]
    [InlineData("SET NAMES 'UTF8'", "SET client_encoding = 'UTF8'")]
    [InlineData("SET SESSION search_path = app", "SET search_path = app")]
    [InlineData("SET SESSION TIME ZONE LOCAL", "SET TimeZone = 'UTC'")]
    public void Set_SpecialForms_CollapseWithTheParameterTheySet(string first, string second)
    {
        var settings = Settings();
        Record(settings, first);
        Record(settings, second);

        Assert.Equal(Sql(second), settings.SetupSql);
    }

    [Fact]
    public void Reset_OfARecordedSetting_RemovesIt_AndRestoresTheFingerprint()
    {
        var settings = Settings(("application_name", "psql"));
        ulong startup = settings.Fingerprint;
        Record(settings, "SET search_path = app");

        Assert.True(Record(settings, "RESET search_path;"));

        Assert.Equal(Sql("SET \"application_name\" TO 'psql'"), settings.SetupSql);
        Assert.Equal(startup, settings.Fingerprint);
    }

    [Fact]
    public void Reset_OfTheOnlySetting_LeavesNothingToApply()
    {
        var settings = Settings();
        Record(settings, "SET TIME ZONE 'UTC'");

        Assert.True(Record(settings, "RESET TIME ZONE"));

        Assert.Equal(0UL, settings.Fingerprint);
        Assert.Equal("", settings.SetupSql);
    }

    [Theory]
    [InlineData("RESET application_name")]
    [InlineData("reset APPLICATION_NAME")]
    [InlineData("RESET TIME ZONE")]
    [InlineData("RESET search_path")]
    public void Reset_OfAStartupParameter_KeepsTheStartupValue_AndSaysThisServerNowDiffers(string reset)
    {
        var settings = Settings(("application_name", "psql"), ("TimeZone", "Europe/Paris"), ("options", "-c search_path=app"));
        string before = settings.SetupSql;
        ulong fingerprint = settings.Fingerprint;

        Assert.False(Record(settings, reset));

        Assert.Equal(before, settings.SetupSql);
        Assert.Equal(fingerprint, settings.Fingerprint);
    }

    [Fact]
    public void Reset_OfAStartupParameterSetSince_DropsTheSet_AndKeepsTheStartupValue()
    {
        var settings = Settings(("application_name", "psql"));
        Record(settings, "SET application_name = 'other'");
        Assert.EndsWith("\n;SET application_name = 'other'", settings.SetupSql);

        Assert.False(Record(settings, "RESET application_name"));

        Assert.Equal(Sql("SET \"application_name\" TO 'psql'"), settings.SetupSql);
    }

    [Fact]
    public void ResetAll_ForgetsRecordedSettings_ButNotStartupParameters()
    {
        var settings = Settings(("application_name", "psql"));
        ulong startup = settings.Fingerprint;
        Record(settings, "SET search_path = app");
        Record(settings, "SET statement_timeout = 0");

        settings.ResetAll();

        Assert.Equal(Sql("SET \"application_name\" TO 'psql'"), settings.SetupSql);
        Assert.Equal(startup, settings.Fingerprint);
    }

    [Theory]
    [InlineData(" search_path = app", "search_path")]
    [InlineData(" Search_Path TO app", "search_path")]
    [InlineData(" statement_timeout=0", "statement_timeout")]
    [InlineData(" myext.some_flag = on", "myext.some_flag")]
    [InlineData(" \"Search_Path\" TO app", "Search_Path")]
    [InlineData(" TIME ZONE 'UTC'", "timezone")]
    [InlineData(" time zone local", "timezone")]
    [InlineData(" SESSION TIME ZONE 'UTC'", "timezone")]
    [InlineData(" SCHEMA 'app'", "search_path")]
    [InlineData(" NAMES 'UTF8'", "client_encoding")]
    [InlineData(" XML OPTION DOCUMENT", "xmloption")]
    [InlineData(" SESSION AUTHORIZATION DEFAULT", "session_authorization")]
    [InlineData(" SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "session_characteristics")]
    [InlineData(" SESSION statement_timeout = 0", "statement_timeout")]
    [InlineData(" ROLE reader", "role")]
    [InlineData(" names_extra = 1", "names_extra")]
    [InlineData(" schema_x = 1", "schema_x")]
    [InlineData(" NAMES", "client_encoding")]
    public void ParameterName_ReadsTheParameterASetOrResetIsAbout(string rest, string name)
    {
        Assert.Equal(name, SessionSettings.ParameterName(rest));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(" = 1")]
    [InlineData(" \"\" = 1")]
    [InlineData(" \"unterminated")]
    public void ParameterName_OfFormsNotUnderstood_IsNull(string rest)
    {
        Assert.Null(SessionSettings.ParameterName(rest));
    }

    // PostgreSQL applies the options' -c settings first and the startup packet's own parameters after them.
    [Fact]
    public void StartupParameter_WinsOverTheSameSettingInOptions()
    {
        var settings = Settings(("application_name", "direct"), ("options", "-c application_name=from_options"));

        Assert.EndsWith("'direct'", settings.SetupSql);
    }

    // SET name TO DEFAULT is RESET name: on PostgreSQL it gives the client's startup value back.
    [Fact]
    public void Set_ToDefault_OfAStartupParameter_ActsAsReset()
    {
        var settings = Settings(("application_name", "psql"));

        Assert.False(Record(settings, "SET application_name TO DEFAULT"));

        Assert.Equal(Sql("SET \"application_name\" TO 'psql'"), settings.SetupSql);
    }

    [Fact]
    public void Set_AfterALeadingComment_IsCancelledByReset()
    {
        var settings = Settings();
        Record(settings, "/* orm */ SET search_path = app");

        Record(settings, "RESET search_path");

        Assert.Equal("", settings.SetupSql);
    }

    [Fact]
    public void Set_WithATrailingLineComment_DoesNotHideTheNextSetting()
    {
        var settings = Settings();
        Record(settings, "SET search_path = app -- for reports");
        Record(settings, "SET statement_timeout = 0");

        string last = settings.SetupSql.Split('\n')[^1];
        Assert.Contains("SET statement_timeout = 0", last);
        Assert.DoesNotContain("--", last[..last.IndexOf("SET statement_timeout", StringComparison.Ordinal)]);
    }

    // RESET ALL leaves role and session_authorization (GUC_NO_RESET_ALL): a server another client ran SET ROLE on
    // keeps that role through the next client's setup.
    [Fact]
    public void SetupSql_UndoesRoleChanges_ThatResetAllKeeps()
    {
        var settings = Settings(("application_name", "psql"));

        Assert.Matches("(?i)RESET ROLE|SET ROLE NONE|SESSION AUTHORIZATION DEFAULT", settings.SetupSql);
    }

    [Fact]
    public void Settle_WithoutCommit_GoesBackToTheSettingsBeforeTheTransaction()
    {
        var settings = Settings();
        Record(settings, "SET search_path = kept");
        settings.Settle(committed: true);
        ulong kept = settings.Fingerprint;

        Record(settings, "SET search_path = rolled_back");
        Record(settings, "SET statement_timeout = 1");
        Assert.True(settings.Unsettled);
        settings.Settle(committed: false);

        Assert.False(settings.Unsettled);
        Assert.Equal(kept, settings.Fingerprint);
        Assert.Equal(Sql("SET search_path = kept"), settings.SetupSql);
    }

    private static bool Savepoint(SessionSettings settings, string sql) => settings.Savepoint(Encoding.UTF8.GetBytes(sql));

    [Fact]
    public void RollbackToSavepoint_UndoesTheSetsSinceIt_AndKeepsTheMark()
    {
        var settings = Settings();
        Record(settings, "SET search_path = before");
        Assert.False(Savepoint(settings, "SAVEPOINT s1"));
        Record(settings, "SET search_path = after");
        Record(settings, "SET statement_timeout = 1");

        Assert.True(Savepoint(settings, "ROLLBACK TO SAVEPOINT S1"));
        Assert.Equal(Sql("SET search_path = before"), settings.SetupSql);

        // The mark stays: a second rollback to it undoes what came after the first.
        Record(settings, "SET work_mem = '64MB'");
        Assert.True(Savepoint(settings, "rollback work to s1"));
        settings.Settle(committed: true);
        Assert.Equal(Sql("SET search_path = before"), settings.SetupSql);
        Assert.False(settings.Unsettled);
    }

    [Fact]
    public void ReleasedSavepoint_CannotBeRolledBackTo_AndQuotedNamesKeepTheirCase()
    {
        var settings = Settings();
        Savepoint(settings, "SAVEPOINT \"Mixed\"");
        Record(settings, "SET search_path = kept");

        Assert.False(Savepoint(settings, "ROLLBACK TO mixed"));
        Assert.False(Savepoint(settings, "RELEASE SAVEPOINT \"Mixed\""));
        Assert.False(Savepoint(settings, "ROLLBACK TO \"Mixed\""));
        settings.Settle(committed: true);

        Assert.Equal(Sql("SET search_path = kept"), settings.SetupSql);
    }

    [Fact]
    public void Savepoints_EndWithTheirTransaction()
    {
        var settings = Settings();
        Savepoint(settings, "SAVEPOINT a");
        Assert.True(settings.Unsettled);
        Assert.False(settings.Settle(committed: true));

        Record(settings, "SET search_path = later");
        Assert.False(Savepoint(settings, "ROLLBACK TO a"));
        Assert.Equal(Sql("SET search_path = later"), settings.SetupSql);
    }
}
