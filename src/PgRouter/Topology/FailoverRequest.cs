namespace PgRouter.Topology;

/// <summary>Patroni's failover key while it holds a request: who leads now, who should, and when.</summary>
internal sealed record FailoverRequest(string? Leader, string? Candidate, DateTimeOffset? ScheduledAt);
