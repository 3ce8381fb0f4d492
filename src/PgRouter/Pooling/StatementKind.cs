namespace PgRouter.Pooling;

/// <summary>What a statement does to the server session, as far as pooling must know.</summary>
internal enum StatementKind
{
    /// <summary>Leaves no state behind once its transaction ends.</summary>
    Ordinary,

    /// <summary>SET, RESET: session state PgRouter records and replays on the next server.</summary>
    SessionSetting,

    /// <summary>Changes settings in a way that cannot be replayed (set_config): the server is reset before its next use.</summary>
    SettingsUnknown,

    /// <summary>RESET ALL, DISCARD ALL: back to the session's defaults.</summary>
    ResetAll,

    /// <summary>SAVEPOINT, ROLLBACK TO SAVEPOINT, RELEASE SAVEPOINT: a rollback to a savepoint undoes the SETs after it.</summary>
    Savepoint,

    /// <summary>State only this server session can hold (LISTEN, temp tables, SQL PREPARE, …): the client keeps its server.</summary>
    PinsSession,
}
