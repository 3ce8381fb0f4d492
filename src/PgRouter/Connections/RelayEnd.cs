namespace PgRouter.Connections;

/// <summary>Why a relayed session ended; logged once per session.</summary>
internal enum RelayEnd
{
    ClientTerminated,
    ClientClosed,
    ClientProtocolViolation,
    ServerClosed,
    ServerProtocolViolation,
    ServerUnreachable,

    /// <summary>The server turned out to be in recovery where a primary was expected.</summary>
    WrongRole,

    /// <summary>PgRouter ended the session (shutdown).</summary>
    Terminated,
}
