namespace PgRouter.Routing;

/// <summary>What a listener promises its clients: a target and how reads are spread.</summary>
internal sealed record ListenerPolicy(string Name, RouteTarget Target, ReplicaPolicy Replicas);
