namespace PgRouter.Routing;

/// <summary>How a listener spreads reads: fall back to the primary or not, and which replica to pick.</summary>
internal sealed record ReplicaPolicy(bool FallbackToPrimary, IReplicaBalancer Balancer);
