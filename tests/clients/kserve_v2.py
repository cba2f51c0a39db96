"""kserve's own V2 client, run from its own virtual environment (its pins conflict with ours):

    .venv-bench-kserve/bin/python tests/clients/kserve_v2.py '{"url": ..., "model": ..., "inputs": [...],
                                                               "binary": true}'

Sends one inference with kserve's InferenceRESTClient (protocol v2, its defaults otherwise),
its InferInputs holding the tensors as binary data or as JSON, and prints the outputs it
decoded as JSON: {"model_version": ..., "outputs": {name: {"datatype", "shape", "data"}}}.
Also prints what the server's metadata and readiness routes answered.
"""
import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


async def main(spec: dict) -> dict:
    client = InferenceRESTClient(config=RESTConfig(protocol="v2", timeout=30))
    inputs = []
    for tensor in spec["inputs"]:
        if tensor["datatype"] == "BYTES":
            array = np.array([s.encode() if spec["binary"] else s for s in tensor["data"]], dtype=object)
        else:
            array = np.array(tensor["data"], dtype=tensor["numpy"])
        array = array.reshape(tensor["shape"])
        infer_input = InferInput(tensor["name"], list(array.shape), tensor["datatype"])
        infer_input.set_data_from_numpy(array, binary_data=spec["binary"])
        inputs.append(infer_input)
    result = await client.infer(spec["url"], InferRequest(model_name=spec["model"], infer_inputs=inputs),
                                model_name=spec["model"])
    outputs = {}
    for output in result.outputs:
        data = output.as_numpy()
        outputs[output.name] = {"datatype": output.datatype, "shape": list(data.shape),
                                "data": [v.decode() if isinstance(v, bytes) else v for v in data.ravel().tolist()]}
    ready = await client.is_model_ready(spec["url"], spec["model"])
    await client.close()
    return {"model_version": result.model_version, "outputs": outputs, "model_ready": ready}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
