using PgRouter.Authentication;
using PgRouter.Pooling;
using PgRouter.Routing;
using PgRouter.Tls;

namespace PgRouter.Connections;

/// <summary>What a listener promises its clients: a target, how reads are spread, TLS, and how clients prove who they are.</summary>
/// <param name="AuthMethod">Overrides the global method; a database entry may override it again.</param>
/// <param name="PoolMode">Overrides the global pool mode; a database entry may override it again.</param>
internal sealed record ListenerPolicy(string Name, RouteTarget Target, ReplicaPolicy Replicas, ClientTlsMode Tls, AuthMethod? AuthMethod, PoolMode? PoolMode);
