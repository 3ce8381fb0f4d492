using PgRouter.Protocol;

namespace PgRouter.Routing;

/// <summary>
/// What a client's StartupMessage asks for: who, which database and where it leads, which target,
/// and the parameters to send on to the server (PgRouter's own settings and protocol options taken out).
/// </summary>
/// <param name="ProtocolOptions">_pq_ options the client sent; PgRouter supports none of them.</param>
/// <param name="NeedsNegotiation">The client asked for more than protocol 3.0: answer NegotiateProtocolVersion first.</param>
internal sealed record ClientRequest(
    string User,
    string Database,
    DatabaseRoute Route,
    RouteTarget Target,
    StartupParameters ServerParameters,
    IReadOnlyList<string> ProtocolOptions,
    bool NeedsNegotiation)
{
    private const string OwnTargetSetting = "target";

    /// <summary>Interprets the packet; null with an error the client must be refused with.</summary>
    public static ClientRequest? Interpret(StartupPacket packet, DatabaseMap databases, RouteTarget listenerTarget, out PgError? error)
    {
        var parameters = packet.Parameters.Clone();
        error = null;
        if (parameters["user"] is not { Length: > 0 } user)
        {
            error = new PgError(SqlState.InvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet");
            return null;
        }
        string database = parameters["database"] is { Length: > 0 } named ? named : user;

        if (parameters["replication"] is { } replication && replication is not ("false" or "off" or "no" or "0"))
        {
            error = new PgError(SqlState.FeatureNotSupported, "replication connections are not supported through PgRouter",
                Hint: "Connect replication clients to the member directly.");
            return null;
        }

        var protocolOptions = parameters.Items.Select(p => p.Key).Where(n => n.StartsWith("_pq_.", StringComparison.Ordinal)).ToList();
        protocolOptions.ForEach(name => parameters.Set(name, null));

        var (serverOptions, own) = StartupOptions.Extract(parameters["options"]);
        parameters.Set("options", serverOptions);
        if (!databases.TryResolve(database, out var route))
        {
            error = new PgError(SqlState.InvalidCatalogName, $"database \"{database}\" is not configured in PgRouter",
                Hint: "Add it to PgRouter:Databases, or add a \"*\" entry.");
            return null;
        }

        // The client's own choice beats the database entry, which beats the listener.
        var target = route.Target ?? listenerTarget;
        foreach (var (name, value) in own)
        {
            if (name != OwnTargetSetting)
            {
                error = new PgError(SqlState.UndefinedObject, $"unrecognized configuration parameter \"pgrouter.{name}\"");
                return null;
            }
            if (!RouteTargets.TryParse(value, out target))
            {
                error = new PgError(SqlState.InvalidParameterValue, $"invalid value for parameter \"pgrouter.target\": \"{value}\"",
                    Hint: "Available values: primary, replica, prefer-replica, any.");
                return null;
            }
        }
        parameters.Set("database", route.Database);

        return new ClientRequest(user, database, route, target, parameters, protocolOptions, packet.ProtocolMinor > 0 || protocolOptions.Count > 0);
    }
}
