using Npgsql;

namespace PgRouter.IntegrationTests.Support;

/// <summary>Where a connection landed, as the server itself reports it.</summary>
internal sealed record Landing(bool InRecovery, int Port, string Database)
{
    public static async Task<Landing> OfAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand("select pg_is_in_recovery(), inet_server_port(), current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Landing(reader.GetBoolean(0), reader.GetInt32(1), reader.GetString(2));
    }

    /// <summary>Opens a connection, asks, closes.</summary>
    public static async Task<Landing> OfAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        return await OfAsync(connection);
    }
}
