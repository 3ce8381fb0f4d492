namespace PgRouter.Topology;

/// <summary>Byte counts for humans, in the units PostgreSQL's pg_size_pretty uses.</summary>
internal static class ByteSize
{
    public static string Format(long bytes) => bytes switch
    {
        < 10 * 1024L => $"{bytes} bytes",
        < 10 * 1024L * 1024 => $"{bytes / 1024} kB",
        < 10 * 1024L * 1024 * 1024 => $"{bytes / (1024 * 1024)} MB",
        _ => $"{bytes / (1024L * 1024 * 1024)} GB",
    };
}
