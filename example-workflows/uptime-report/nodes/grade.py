"""Grade each probed site: down, slow (over config.slow_ms) or ok."""


async def run(ctx, input):
    slow_ms = int(ctx.config.get("slow_ms", 1000))
    grades = {}
    for probe in input["probes"]:
        if not probe["up"]:
            grades[probe["site"]] = "down"
        elif probe["latencyMs"] > slow_ms:
            grades[probe["site"]] = f"slow ({probe['latency']})"
        else:
            grades[probe["site"]] = "ok"
    ctx.log.info("graded", sites=len(grades))
    return {"grades": grades, "healthy": all(g == "ok" for g in grades.values())}
