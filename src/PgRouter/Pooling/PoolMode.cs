namespace PgRouter.Pooling;

/// <summary>How long a client keeps a server connection.</summary>
internal enum PoolMode
{
    /// <summary>For one transaction: back to the pool when ReadyForQuery says idle and nothing is outstanding.</summary>
    Transaction,

    /// <summary>For the whole session; reset with DISCARD ALL before the next client gets it.</summary>
    Session,
}

internal static class PoolModes
{
    public static bool TryParse(string? text, out PoolMode mode)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "transaction": mode = PoolMode.Transaction; return true;
            case "session": mode = PoolMode.Session; return true;
            default: mode = default; return false;
        }
    }
}
