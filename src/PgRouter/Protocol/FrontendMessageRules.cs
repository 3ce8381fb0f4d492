namespace PgRouter.Protocol;

/// <summary>
/// Which message types a client may send after startup and how long each may be, as PostgreSQL's
/// own backend checks them (postgres.c, SocketBackend): bulk-carrying messages may be large, the
/// rest are tiny, so a bogus length is caught before anything is forwarded.
/// </summary>
internal static class FrontendMessageRules
{
    /// <summary>PQ_SMALL_MESSAGE_LIMIT.</summary>
    public const int SmallMessageLimit = 10_000;

    /// <summary>PG_MAX_AUTH_TOKEN_LENGTH: password and SASL messages.</summary>
    public const int AuthMessageLimit = 65_535;

    /// <summary>PQ_LARGE_MESSAGE_LIMIT (MaxAllocSize - 1).</summary>
    public const int LargeMessageLimit = 0x3fff_fffe;

    /// <summary>The largest length a frame of this type may declare, or 0 when the type is invalid.</summary>
    public static int MaxLength(byte type, int largeMessageLimit) => type switch
    {
        FrontendMessage.Query or FrontendMessage.FunctionCall or FrontendMessage.Bind
            or FrontendMessage.Parse or FrontendMessage.CopyData => largeMessageLimit,
        FrontendMessage.Password => AuthMessageLimit,
        FrontendMessage.Terminate or FrontendMessage.Close or FrontendMessage.Describe
            or FrontendMessage.Execute or FrontendMessage.Flush or FrontendMessage.Sync
            or FrontendMessage.CopyDone or FrontendMessage.CopyFail => SmallMessageLimit,
        _ => 0,
    };
}
