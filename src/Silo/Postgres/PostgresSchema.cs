using Npgsql;

namespace OrleansWs.Silo.Postgres;

/// <summary>
/// Applies Postgres/schema.sql (our tables and the named queries Orleans' ADO.NET providers read) before
/// the silo starts. Registered ahead of Orleans, so it runs first: hosted services start in order.
/// </summary>
internal sealed partial class PostgresSchema(string connectionString, ILogger<PostgresSchema> logger) : IHostedService
{
    // Silos that start together would race on CREATE TABLE IF NOT EXISTS; one holds this lock at a time.
    private const long SchemaLock = 0x4f7277_5773;

    /// <summary>How long a silo waits for the database to accept connections before it gives up.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static string Script()
    {
        using var stream = typeof(PostgresSchema).Assembly.GetManifestResourceStream("OrleansWs.Silo.Postgres.schema.sql")
            ?? throw new InvalidOperationException("The embedded schema.sql is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await ApplyAsync(connectionString, cancellationToken);
                LogApplied();
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && DateTime.UtcNow < deadline)
            {
                LogWaiting(e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Applies the schema once; idempotent.</summary>
    public static async Task ApplyAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SchemaLock})", connection, transaction))
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var apply = new NpgsqlCommand(Script(), connection, transaction))
        {
            await apply.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    [LoggerMessage(1, LogLevel.Information, "PostgreSQL schema applied")]
    private partial void LogApplied();

    [LoggerMessage(2, LogLevel.Warning, "PostgreSQL not reachable yet, retrying: {Reason}")]
    private partial void LogWaiting(string reason);
}
