namespace PgRouter.Routing;

/// <summary>Which members a connection may land on.</summary>
internal enum RouteTarget
{
    /// <summary>The current primary only: read-write.</summary>
    Primary,

    /// <summary>Replicas within the lag limit (optionally the primary when none qualifies): read-only.</summary>
    Replica,

    /// <summary>A qualifying replica, else the primary.</summary>
    PreferReplica,

    /// <summary>The primary or any qualifying replica.</summary>
    Any,
}

internal static class RouteTargets
{
    public static bool TryParse(string? text, out RouteTarget target)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "primary" or "read-write": target = RouteTarget.Primary; return true;
            case "replica" or "read-only" or "standby": target = RouteTarget.Replica; return true;
            case "prefer-replica" or "prefer-standby": target = RouteTarget.PreferReplica; return true;
            case "any": target = RouteTarget.Any; return true;
            default: target = default; return false;
        }
    }

    public static string Name(RouteTarget target) => target switch
    {
        RouteTarget.Primary => "primary",
        RouteTarget.Replica => "replica",
        RouteTarget.PreferReplica => "prefer-replica",
        _ => "any",
    };
}
