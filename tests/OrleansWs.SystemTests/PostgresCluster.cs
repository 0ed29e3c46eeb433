using Npgsql;

namespace OrleansWs.SystemTests;

/// <summary>The local topology with PostgreSQL (a throwaway server of scripts/cluster.sh) instead of Redis.</summary>
public sealed class PostgresCluster : LocalCluster
{
    public override string Store => "postgres";

    /// <inheritdoc />
    public override async Task<int> StoredRecords(string stateName, string key) => (int)await Scalar<long>(
        "SELECT count(*) FROM ows_grain_state WHERE grain_type = @state AND id_string LIKE '%' || @key || '%' AND payload IS NOT NULL",
        ("state", stateName), ("key", key));

    /// <summary>The value of the first column of the first row of <paramref name="sql"/>.</summary>
    public async Task<T> Scalar<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={StorePort};Username=postgres;Database=postgres");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }
}
