using PgRouter.Protocol;

namespace PgRouter.Pooling;

internal enum AcquireFailure
{
    None,

    /// <summary>The member does not take connections now (down, starting, in crash recovery): route elsewhere.</summary>
    Unreachable,

    /// <summary>A standby where a primary was wanted: route again.</summary>
    WrongRole,

    /// <summary>The server refused the login (password, database): tell the client.</summary>
    Refused,

    /// <summary>No connection came free within the queue timeout.</summary>
    Timeout,

    /// <summary>The pool was retired while waiting (its member lost its role): route again.</summary>
    Retired,
}

/// <summary>A server connection from a pool, or why there is none.</summary>
internal readonly record struct Acquisition(PooledServer? Server, AcquireFailure Failure, PgError? Error)
{
    public static Acquisition Got(PooledServer server) => new(server, AcquireFailure.None, null);

    public static Acquisition Failed(AcquireFailure failure, PgError? error = null) => new(null, failure, error);
}
